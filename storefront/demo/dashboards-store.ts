// A store every dashboard panel has data in, for tests and the benchmark: the demo catalogue and
// history through the event log, recommendation events on top, a few malformed events for the dead
// letter, two RFM runs a month apart (segment movement) and then every registered model. Lives with the
// other demo data, not in dashboards/, so neither top-level app imports the other.
import type { ClickHouse } from '../../lib/clickhouse.ts';
import type { Config } from '../../lib/config.ts';
import type { EventLog } from '../../lib/eventlog/types.ts';
import { appendDemoHistory, loadCatalogue, type DemoSize } from './load.ts';
import { appendDemoRecEvents } from './rec-events.ts';
import type { ModelRunner, ModelRunRecord } from '../../models/runner.ts';

/** The parts of a running cvm the demo store fills (bin/runtime.ts's Runtime has this shape). */
export interface DemoStoreTarget {
  deps: { ch: ClickHouse; config: Config };
  eventLog: EventLog | null;
  models: Pick<ModelRunner, 'run' | 'clock'>;
}

export interface DemoStoreOptions {
  /** Resolves true once the transformer has consumed everything appended so far, false on timeout. */
  waitForDrain: (timeoutMs: number) => Promise<boolean>;
  /** The history's last instant; the runner's clock by default (tests run on a fixed one). */
  end?: number;
}

export interface DemoStoreReport {
  events: number;
  recEvents: number;
  badEvents: number;
  runs: ModelRunRecord[];
  ms: number;
}

/** Malformed events (the kind a broken integration sends) so the rejects panel has reasons to show. */
function badRecords(site: string, now: number): Array<{ key: string; value: string }> {
  const bad = [
    { type: 'purchase', properties: { order_id: 'BAD-1', total: 10, currency: 'USD' } }, // no items
    { type: 'purchase', properties: { order_id: 'BAD-2', items: [{ product_id: 'x', quantity: 1, price: 5 }], total: 5 } }, // no currency
    { type: 'add_to_cart', properties: { product_id: 'x', price: 3, currency: 'XXQ' } }, // unknown currency
    { type: 'review', properties: { product_id: 'x', rating: 9 } }, // rating out of range
  ];
  return bad.flatMap((b, i) =>
    Array.from({ length: 3 + i * 2 }, (_, j) => {
      const event = { event_id: `00000000-0000-4000-8000-${String(i * 100 + j).padStart(12, '0')}`, ts: new Date(now - j * 3_600_000).toISOString(), anonymous_id: `a_bad_${i}_${j}`, ...b };
      return { key: event.anonymous_id, value: JSON.stringify({ v: 1, site, received_at: now - j * 3_600_000 + 100, source: 'server', event }) };
    }),
  );
}

export async function loadDemoStore(rt: DemoStoreTarget, size: DemoSize, opts: DemoStoreOptions): Promise<DemoStoreReport> {
  if (!rt.eventLog) throw new Error('the demo store needs a runtime with the collector or transformer role (an event log)');
  const { waitForDrain, end = rt.models.clock.now() } = opts;
  const t0 = Date.now();
  const { config } = rt.deps;
  await loadCatalogue(rt.deps.ch);
  const events = await appendDemoHistory(rt.eventLog, config, size, end);
  if (!(await waitForDrain(300_000))) throw new Error('the transformer did not catch up with the demo history');
  const recEvents = await appendDemoRecEvents(rt.deps.ch, rt.eventLog, config);
  const bad = badRecords(config.keys.demoSite, end);
  await rt.eventLog.append(config.topics.events, bad);
  if (!(await waitForDrain(300_000))) throw new Error('the transformer did not catch up with the recommendation events');
  const runs = [...(await rt.models.run('rfm', new Date(end - 30 * 86_400_000))), ...(await rt.models.run('all', new Date(end)))];
  return { events, recEvents, badEvents: bad.length, runs, ms: Date.now() - t0 };
}
