// Live events stay fresh while a bulk load drains: the demo history (~20k events here) goes through its
// own topic and consumer, so single events posted right after it are queryable before the bulk is done.
// Asserts the order of the two, never a duration (the machine is shared and noisy).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { event } from './helpers/events.ts';
import { FIXTURE_NOW, WRITE, testRuntime } from './helpers/runtime.ts';
import { waitForDrain, type Runtime } from '../bin/runtime.ts';
import { appendDemoHistory } from '../storefront/demo/load.ts';
import { pipelineStatus } from '../transform/pipeline-status.ts';

let rt: Runtime;

beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt?.close();
});

async function storedOf(ids: string[]): Promise<{ live: number; other: number }> {
  const [row] = await rt.deps.ch.rows<{ live: string; other: string }>(
    'SELECT countIf(event_id IN {ids:Array(String)}) AS live, uniqExactIf(event_id, event_id NOT IN {ids:Array(String)}) AS other FROM events',
    { ids },
  );
  return { live: Number(row?.live ?? 0), other: Number(row?.other ?? 0) };
}

describe('bulk topic', () => {
  it('live events posted during a bulk append are queryable before the bulk drain finishes', async () => {
    const track = (e: object) => rt.app!.inject({ method: 'POST', url: '/v1/track', headers: { 'x-cvm-key': WRITE }, payload: e });
    // The visitor's first event makes their data key (a ClickHouse write); later ones are sealed from memory,
    // so what the bulk can hold up below is the transformer, not the acknowledgement.
    const visitor = { anonymous_id: 'live-visitor' };
    expect((await track(event('page_view', visitor))).statusCode).toBe(200);
    expect(await waitForDrain(rt, 60_000)).toBe(true);

    const bulk = await appendDemoHistory(rt.eventLog!, rt.deps.config, { customers: 500, days: 90 }, FIXTURE_NOW);
    expect(bulk).toBeGreaterThan(15_000);

    // Posted as the bulk starts to drain: one request per event, as a page's snippet sends them.
    const live = Array.from({ length: 10 }, () => event('product_view', visitor, { product_id: 'p-1' }));
    for (const res of await Promise.all(live.map(track))) expect(res.statusCode).toBe(200);
    const ids = live.map((e) => e.event_id);

    // Poll until every live event is stored, noting how much of the bulk was stored by then.
    let seen = { live: 0, other: 0 };
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      seen = await storedOf(ids);
      if (seen.live >= ids.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen.live).toBe(ids.length);
    expect(seen.other - 1).toBeLessThan(bulk); // the warm-up event is the 1

    // While the bulk drains, the status shows its lag beside the live topic's.
    const status = await pipelineStatus({ ch: rt.deps.ch, config: rt.deps.config, eventLog: rt.eventLog ?? undefined });
    expect(status.lag?.topic).toBe(rt.deps.config.topics.events);
    expect(status.bulk_lag?.topic).toBe(rt.deps.config.topics.bulk);

    // waitForDrain covers both topics: afterwards everything is stored, once.
    expect(await waitForDrain(rt, 180_000)).toBe(true);
    const done = await storedOf(ids);
    expect(done).toEqual({ live: ids.length, other: bulk + 1 });
    const after = await pipelineStatus({ ch: rt.deps.ch, config: rt.deps.config, eventLog: rt.eventLog ?? undefined });
    expect(after.lag?.total).toBe(0);
    expect(after.bulk_lag?.total).toBe(0);
  }, 240_000);
});
