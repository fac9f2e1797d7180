// Analyst queries have their own budget: a slow one runs on its own restricted session (the embedded
// engine runs connections side by side), so storefront reads and the collector answer while it runs; it
// is stopped by the engine at the time limit, checks and run together; and when the analyst places are
// taken, further queries wait in a bounded queue, then get 429 / 503 with Retry-After instead of piling up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { ALICE, WRITE, newKey, seededShop, type Shop } from './api.fixture.ts';
import { event } from './helpers/events.ts';

let shop: Shop;
let others: string[];

// Four distinct sleeps (identical calls are computed once): 11.4 s of work against an 8 s budget.
const SLOW = 'SELECT sleep(3) + sleep(2.9) + sleep(2.8) + sleep(2.7) AS s';

beforeAll(async () => {
  shop = await seededShop({
    customers: 10,
    models: false,
    env: { CVM_QUERY_MAX_SECONDS: '8', CVM_QUERY_CONCURRENCY: '1', CVM_QUERY_QUEUE_SIZE: '1', CVM_QUERY_QUEUE_WAIT_SECONDS: '1' },
  });
  others = [await newKey(shop.rt, 'analyst'), await newKey(shop.rt, 'analyst')];
});
afterAll(async () => {
  await shop?.rt.close();
});

const query = (sql: string, key?: string) =>
  key
    ? shop.rt.app!.inject({ method: 'POST', url: '/v1/query', headers: { authorization: `Bearer ${key}` }, payload: { sql } })
    : shop.as('analyst', { method: 'POST', url: '/v1/query', payload: { sql } });

async function queueState(): Promise<{ running: number; waiting: number }> {
  return (await shop.as('analyst', { method: 'GET', url: '/v1/query/queue' })).json();
}

/** Polls (no timing assumption) until the analyst queue shows what the test set up. */
async function until(pred: (s: { running: number; waiting: number }) => boolean): Promise<void> {
  while (!pred(await queueState())) await new Promise((r) => setTimeout(r, 20));
}

/** Polls the engine's own process list until the slow query is really executing (or has ended). */
async function executing(slow: { done: () => boolean }): Promise<void> {
  for (;;) {
    const rows = await shop.rt.deps.ch.rows<{ n: string }>(`SELECT count() AS n FROM system.processes WHERE query = {q:String}`, { q: SLOW });
    if (Number(rows[0]?.n) > 0 || slow.done()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function tracked(p: Promise<LightMyRequestResponse>): { done: () => boolean; res: Promise<LightMyRequestResponse> } {
  let finished = false;
  const res = p.finally(() => {
    finished = true;
  });
  return { done: () => finished, res };
}

describe('the analyst query budget', () => {
  it('lets storefront reads and the collector answer while a slow analyst query runs, and stops it at the limit', async () => {
    const slow = tracked(query(SLOW));
    await until((s) => s.running === 1);
    await executing(slow);
    expect(slow.done()).toBe(false);
    const read = await shop.as('storefront', { method: 'GET', url: `/v1/customers/${ALICE.id}` });
    expect(read.statusCode, read.body).toBe(200);
    const collect = await shop.rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE }, payload: { batch: [event('page_view', { anonymous_id: 'anon-budget' })] } });
    expect(collect.statusCode, collect.body).toBe(200);
    expect(slow.done(), 'the storefront read and the collector answered before the slow analyst query ended').toBe(false);
    const res = await slow.res;
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ error: 'query_timeout', field: 'sql' });
    await until((s) => s.running === 0);
  });

  it('counts the checks and the run against one time budget (the analyzer computes constant subqueries while checking)', async () => {
    // 4.9 s of sleeping in a scalar subquery: computed once while checking and again when run. Each alone
    // fits the 8 s budget (so one budget per phase, as before, let it run ~10 s); together they cannot.
    const res = await query('SELECT 1 AS one WHERE 0 = (SELECT count() FROM (SELECT sleep(2.5) + sleep(2.4) AS s) WHERE s != 0)');
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ error: 'query_timeout', field: 'sql' });
    await until((s) => s.running === 0);
  });

  it('queues analysts within a cap: one place per key, a full queue is 429, a wait that runs out is 503, both with Retry-After', async () => {
    const first = tracked(query(SLOW));
    await until((s) => s.running === 1);

    const sameKey = await query('SELECT 1 AS one');
    expect(sameKey.statusCode, sameKey.body).toBe(429);
    expect(sameKey.json()).toMatchObject({ error: 'query_queue_full' });
    expect(Number(sameKey.headers['retry-after'])).toBeGreaterThan(0);

    const waiting = tracked(query('SELECT 2 AS two', others[0]));
    await until((s) => s.waiting === 1);
    const full = await query('SELECT 3 AS three', others[1]);
    expect(full.statusCode, full.body).toBe(429);
    expect(full.json()).toMatchObject({ error: 'query_queue_full', field: 'sql' });
    expect(Number(full.headers['retry-after'])).toBeGreaterThan(0);

    const waited = await waiting.res;
    expect(waited.statusCode, waited.body).toBe(503);
    expect(waited.json()).toMatchObject({ error: 'query_queue_timeout' });
    expect(Number(waited.headers['retry-after'])).toBeGreaterThan(0);
    expect(first.done(), 'the waiting query gave up while the slow one still held the place').toBe(false);

    expect((await first.res).json()).toMatchObject({ error: 'query_timeout' });
    await until((s) => s.running === 0 && s.waiting === 0);
    const after = await query('SELECT 1 AS one', others[1]);
    expect(after.json().rows).toEqual([{ one: 1 }]);
  });
});
