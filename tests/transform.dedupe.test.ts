// Duplicates arriving three ways are stored once, and a ClickHouse outage loses nothing and doubles
// nothing. Counts use count() without FINAL, with background merges stopped, so a duplicate row that
// reached a table would show.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purchase, daysAgo, event } from './helpers/events.ts';
import { FIXTURE_NOW, WRITE, testRuntime } from './helpers/runtime.ts';
import { waitForDrain, type Runtime } from '../bin/runtime.ts';
import { EventsTransformer } from '../transform/events.consumer.ts';
import type { ClickHouse } from '../lib/clickhouse.ts';
import type { Consumer, LogBatch, StoredRecord } from '../lib/eventlog/types.ts';
import type { CollectedRecord } from '../ingest/contract.ts';

let rt: Runtime & { dir: string };

async function post(batch: unknown[], origin?: string) {
  const res = await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE, ...(origin ? { origin } : {}) }, payload: { batch } });
  expect(res.statusCode).toBe(200);
  return res.json();
}

async function tally(ch: ClickHouse, where: string, params: Record<string, unknown>) {
  const [ev] = await ch.rows<{ n: string; u: string; revenue: number }>(`SELECT count() AS n, uniqExact(event_id) AS u, sum(amount_base) AS revenue FROM events WHERE ${where}`, params);
  const [it] = await ch.rows<{ n: string }>(`SELECT count() AS n FROM order_items WHERE ${where.replace(/type = 'purchase' AND /, '')}`, params);
  return { rows: Number(ev!.n), unique: Number(ev!.u), revenue: ev!.revenue, items: Number(it!.n) };
}

/** A ClickHouse whose inserts into some tables fail (both insert paths: the client's and INSERT … FROM file). */
function failingInserts(ch: ClickHouse, fail: (table: string) => boolean): ClickHouse {
  return {
    ...ch,
    insert: async (table, rows, settings) => {
      if (fail(table)) throw new Error('ClickHouse unavailable');
      return ch.insert(table, rows, settings);
    },
    exec: async (query, params, settings) => {
      if (/^INSERT INTO/.test(query) && typeof params?.table === 'string' && fail(params.table)) throw new Error('ClickHouse unavailable');
      return ch.exec(query, params, settings);
    },
  };
}

function logBatch(topic: string, records: StoredRecord[]): LogBatch {
  return { topic, partition: 0, firstOffset: records[0]!.offset, lastOffset: records[records.length - 1]!.offset, records };
}

beforeAll(async () => {
  rt = await testRuntime();
  // Keep every inserted row visible as its own row: no background merge may fold duplicates away.
  for (const t of ['events', 'order_items']) await rt.deps.ch.exec(`SYSTEM STOP MERGES ${t}`);
});
afterAll(async () => {
  await rt?.close();
});

describe('deduplication', () => {
  it('same event twice in one batch, and the same batch posted twice (a client retry)', async () => {
    const now = FIXTURE_NOW;
    const p1 = { ...purchase('dup-a', daysAgo(1, now), 40), customer_id: 'dup-a' };
    const p2 = purchase('dup-a', daysAgo(2, now), 60, { items: [{ product_id: 'x', quantity: 1, price: 30 }, { product_id: 'y', quantity: 1, price: 30 }] });
    const view = event('page_view', { customer_id: 'dup-a' });
    await post([p1, p1, p2, view, view]);
    await post([p1, p1, p2, view, view]);
    expect(await waitForDrain(rt, 30_000)).toBe(true);
    const t = await tally(rt.deps.ch, "customer_id = {c:String}", { c: 'dup-a' });
    expect(t).toEqual({ rows: 3, unique: 3, revenue: 100, items: 3 });
    expect(rt.transformer!.stats.duplicates).toBe(7);
    const [s] = await rt.deps.ch.rows<{ events: number; revenue: number }>("SELECT sum(events) AS events, sum(revenue_base) AS revenue FROM sessions WHERE customer_id = 'dup-a'");
    expect(s).toEqual({ events: 3, revenue: 100 });
  });

  it('a log batch re-delivered after a crash, with different boundaries, to a fresh transformer', async () => {
    const topic = `crash-${crypto.randomUUID().slice(0, 8)}`;
    const received = FIXTURE_NOW;
    const records: StoredRecord[] = Array.from({ length: 100 }, (_, i) => {
      const e = purchase(`crash-${i % 10}`, daysAgo(1, received), 10, { items: [{ product_id: `p${i}`, quantity: 1, price: 10 }] });
      const rec: CollectedRecord = { v: 1, site: 'demo', received_at: received, source: 'server', event: e };
      return { offset: i, key: e.customer_id, value: JSON.stringify(rec), timestamp: received };
    });
    const first = new EventsTransformer({ ch: rt.deps.ch, config: rt.deps.config, log: rt.deps.log });
    await first.refresh();
    await first.handle(logBatch(topic, records.slice(0, 60)));
    // "Crash": the offsets were never committed. A new process (no memory) gets 30..99 in one batch.
    const second = new EventsTransformer({ ch: rt.deps.ch, config: rt.deps.config, log: rt.deps.log });
    await second.refresh();
    await second.handle(logBatch(topic, records.slice(30, 100)));
    // And once more with yet other boundaries, the whole range.
    const third = new EventsTransformer({ ch: rt.deps.ch, config: rt.deps.config, log: rt.deps.log });
    await third.handle(logBatch(topic, records));
    const t = await tally(rt.deps.ch, 'log_topic = {t:String}', { t: topic });
    expect(t).toEqual({ rows: 100, unique: 100, revenue: 1000, items: 100 });
    expect(second.stats.eventsOut).toBe(40);
    expect(third.stats.eventsOut).toBe(0);
  });

  it('a crash between the order_items and the events insert does not double the order lines', async () => {
    const topic = `partial-${crypto.randomUUID().slice(0, 8)}`;
    const received = FIXTURE_NOW;
    const records: StoredRecord[] = Array.from({ length: 20 }, (_, i) => {
      const e = purchase(`partial-${i}`, daysAgo(1, received), 5);
      const rec: CollectedRecord = { v: 1, site: 'demo', received_at: received, source: 'server', event: e };
      return { offset: i, key: e.customer_id, value: JSON.stringify(rec), timestamp: received };
    });
    const ch = rt.deps.ch;
    const dying = new EventsTransformer({ ch: failingInserts(ch, (t) => t === 'events'), config: rt.deps.config, log: rt.deps.log });
    await expect(dying.handle(logBatch(topic, records.slice(0, 15)))).rejects.toThrow('ClickHouse unavailable');
    const [itemsFirst] = await ch.rows<{ n: string }>('SELECT count() AS n FROM order_items WHERE log_topic = {t:String}', { t: topic });
    expect(Number(itemsFirst!.n)).toBe(15); // the order lines went in before the events insert failed
    // The log hands the uncommitted records over again from the committed offset, cut differently.
    const fresh = new EventsTransformer({ ch, config: rt.deps.config, log: rt.deps.log });
    await fresh.handle(logBatch(topic, records.slice(0, 8)));
    await fresh.handle(logBatch(topic, records.slice(8, 20)));
    const t = await tally(ch, 'log_topic = {t:String}', { t: topic });
    expect(t).toEqual({ rows: 20, unique: 20, revenue: 100, items: 20 });
  });

  it('the same events posted again after a restart are still stored once', async () => {
    const batch = [purchase('restart-a', daysAgo(3), 70), purchase('restart-a', daysAgo(1), 30)];
    await post(batch);
    expect(await waitForDrain(rt, 30_000)).toBe(true);
    const dir = rt.dir;
    await rt.close();
    rt = await testRuntime({ CVM_DATA_DIR: dir });
    for (const t of ['events', 'order_items']) await rt.deps.ch.exec(`SYSTEM STOP MERGES ${t}`);
    await post(batch);
    expect(await waitForDrain(rt, 30_000)).toBe(true);
    expect(await tally(rt.deps.ch, 'customer_id = {c:String}', { c: 'restart-a' })).toEqual({ rows: 2, unique: 2, revenue: 100, items: 2 });
    expect(rt.transformer!.stats.duplicates).toBe(2);
  });
});

describe('back-pressure', () => {
  it('keeps events in the log while ClickHouse fails, then stores each exactly once', async () => {
    const topic = 'bp.events';
    const ch = rt.deps.ch;
    let failures = 0;
    // A ClickHouse whose events insert fails three times (after order_items went in), like an outage mid-batch.
    const flaky = failingInserts(ch, (table) => table === 'events' && failures++ < 3);
    const config = { ...rt.deps.config, topics: { ...rt.deps.config.topics, events: topic }, transform: { batchMax: 5000, flushMs: 50 } };
    const received = FIXTURE_NOW;
    const records = Array.from({ length: 3000 }, (_, i) => {
      const e = purchase(`bp-${i % 300}`, daysAgo(1 + (i % 5), received), 2, { items: [{ product_id: `p${i % 7}`, quantity: 1, price: 2 }] });
      const rec: CollectedRecord = { v: 1, site: 'demo', received_at: received, source: 'server', event: e };
      return { key: e.customer_id, value: JSON.stringify(rec) };
    });
    const transformer = new EventsTransformer({ ch: flaky, config, log: rt.deps.log });
    let consumer: Consumer | null = null;
    try {
      consumer = await transformer.start(rt.eventLog!);
      for (let i = 0; i < records.length; i += 500) await rt.eventLog!.append(topic, records.slice(i, i + 500));
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const lag = await rt.eventLog!.lag(topic, 'transform');
        if (lag.every((p) => p.lag === 0) && lag[0]!.high === 3000) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await consumer?.stop();
    }
    expect(transformer.stats.failedBatches).toBe(3);
    const t = await tally(ch, 'log_topic = {t:String}', { t: topic });
    expect(t).toEqual({ rows: 3000, unique: 3000, revenue: 6000, items: 3000 });
  });

  it('an insert that went through but reported failure is retried without doubling events or sessions', async () => {
    const topic = `ghost-${crypto.randomUUID().slice(0, 8)}`;
    const ch = rt.deps.ch;
    let ghosts = 0;
    // The insert reaches ClickHouse, then the caller sees an error (a timeout after the server acted).
    const ghostly: ClickHouse = {
      ...ch,
      exec: async (query, params, settings) => {
        await ch.exec(query, params, settings);
        if (/^INSERT INTO/.test(query) && params?.table === 'events' && ghosts++ < 2) throw new Error('socket hang up');
      },
      insert: async (table, rows, settings) => {
        await ch.insert(table, rows, settings);
        if (table === 'events' && ghosts++ < 2) throw new Error('socket hang up');
      },
    };
    const received = FIXTURE_NOW;
    const records: StoredRecord[] = Array.from({ length: 50 }, (_, i) => {
      const e = purchase(`ghost-${i % 5}`, daysAgo(1, received), 4);
      const rec: CollectedRecord = { v: 1, site: 'demo', received_at: received, source: 'server', event: e };
      return { offset: i, key: e.customer_id, value: JSON.stringify(rec), timestamp: received };
    });
    const transformer = new EventsTransformer({ ch: ghostly, config: rt.deps.config, log: rt.deps.log });
    const batch = logBatch(topic, records);
    for (let attempt = 0; ; attempt++) {
      try {
        await transformer.handle(batch); // what the log does: the same batch again until it succeeds
        break;
      } catch (err) {
        expect(attempt).toBeLessThan(2);
      }
    }
    expect(await tally(ch, 'log_topic = {t:String}', { t: topic })).toEqual({ rows: 50, unique: 50, revenue: 200, items: 50 });
    const [s] = await ch.rows<{ events: number; revenue: number }>("SELECT sum(events) AS events, sum(revenue_base) AS revenue FROM sessions WHERE startsWith(customer_id, 'ghost-')");
    expect(s).toEqual({ events: 50, revenue: 200 });
  });

  it('a batch that fails part-way through its pipelined chunks is finished on retry, same rows and sessions', async () => {
    const ch = rt.deps.ch;
    const received = FIXTURE_NOW;
    const visitors = 40;
    // 2000 browser events from 40 visitors, a minute apart per visitor: every visitor's events form one session.
    const records: StoredRecord[] = Array.from({ length: 2000 }, (_, i) => {
      const e = { ...event('page_view', { anonymous_id: `chunk-v${i % visitors}` }, {}, new Date(received - 3 * 86_400_000 + Math.floor(i / visitors) * 60_000)), context: { url: `https://shop.example/p/${i}` } };
      const rec: CollectedRecord = { v: 1, site: 'demo', received_at: received, source: 'browser', event: e };
      return { offset: i, key: `chunk-v${i % visitors}`, value: JSON.stringify(rec), timestamp: received };
    });
    let eventInserts = 0;
    const failThird = failingInserts(ch, (t) => t === 'events' && ++eventInserts === 3);
    // Chunks of 500 (the default is 5000) so a 2000-record batch is pipelined in four.
    const interrupted = new EventsTransformer({ ch: failThird, config: rt.deps.config, log: rt.deps.log, caps: { chunkRows: 500 } });
    const batchA = logBatch('chunks-a', records);
    await expect(interrupted.handle(batchA)).rejects.toThrow('ClickHouse unavailable');
    const [partial] = await ch.rows<{ n: string }>("SELECT count() AS n FROM events WHERE log_topic = 'chunks-a'");
    expect(Number(partial!.n)).toBe(1000); // two of four chunks stored before the failure
    await interrupted.handle(batchA);
    expect(eventInserts).toBe(5); // the retry sent only the two chunks that were missing

    // The same records straight through, on another topic: the same session ids.
    const straight = new EventsTransformer({ ch, config: rt.deps.config, log: rt.deps.log, caps: { chunkRows: 5000 } });
    await straight.handle(logBatch('chunks-b', records));
    const sessionsOf = async (topic: string) =>
      ch.rows<{ anonymous_id: string; ids: string[]; n: string }>(
        'SELECT anonymous_id, groupUniqArray(session_id) AS ids, count() AS n FROM events WHERE log_topic = {t:String} GROUP BY anonymous_id ORDER BY anonymous_id',
        { t: topic },
      );
    const a = await sessionsOf('chunks-a');
    expect(a).toHaveLength(visitors);
    expect(a.every((r) => r.ids.length === 1 && Number(r.n) === 50)).toBe(true);
    expect(a).toEqual(await sessionsOf('chunks-b'));
  });
});
