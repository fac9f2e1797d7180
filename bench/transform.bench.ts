// Sustained transformer throughput: the embedded log is pre-filled with N demo-shop events (generateHistory,
// in slices with different seeds), then the transformer drains it into ClickHouse. The ceiling, measured in
// the same run, is ClickHouse inserting the same standardised rows by itself from a JSONEachRow file
// (INSERT INTO events SELECT * FROM file(...)): no parsing, validation or sessions in JS, one big insert.
// Reports events/s, the ratio to the ceiling, where the transformer's time goes, and peak RSS.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testConfig, type Config } from '../lib/config.ts';
import { initLogging, type Logger } from '../lib/logger.ts';
import { connectClickHouse, type ClickHouse } from '../lib/clickhouse.ts';
import { migrate } from '../lib/migrate.ts';
import { openEventLog, type EventLog } from '../lib/eventlog/index.ts';
import { partitionKey, type CollectedRecord } from '../ingest/contract.ts';
import { demoCatalogue } from '../storefront/demo/catalogue.ts';
import { generateHistory } from '../storefront/demo/history.ts';
import { EventsTransformer } from '../transform/events.consumer.ts';
import { FxTable, seedDefaultRates } from '../transform/fx.ts';
import { Sessioniser } from '../transform/sessionise.ts';
import { standardise } from '../transform/standardise.ts';
import type { BenchModule, BenchRow } from './harness.ts';

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

/** Anonymous resident memory (heaps), without file-backed pages such as the LMDB log's memory map; Linux only. */
function rssAnon(): number {
  try {
    const m = /RssAnon:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Times each insert by table (both insert paths), so the report says how much of the drain ClickHouse took. */
function timedInserts(ch: ClickHouse): { ch: ClickHouse; ms: Map<string, number> } {
  const ms = new Map<string, number>();
  const add = (table: string, t: number) => ms.set(table, (ms.get(table) ?? 0) + performance.now() - t);
  return {
    ms,
    ch: {
      ...ch,
      insert: async (table, rows, settings) => {
        const t = performance.now();
        try {
          return await ch.insert(table, rows, settings);
        } finally {
          add(table, t);
        }
      },
      exec: async (query, params, settings) => {
        const t = performance.now();
        try {
          return await ch.exec(query, params, settings);
        } finally {
          if (/^INSERT INTO/.test(query) && typeof params?.table === 'string') add(params.table, t);
        }
      },
    },
  };
}

/** ClickHouse inserting the file by itself (block dedup off: the second run inserts the same rows again). */
async function ceilingInsert(ch: ClickHouse, file: string): Promise<number> {
  const t = performance.now();
  await ch.exec("INSERT INTO events SELECT * FROM file({f:String}, JSONEachRow) SETTINGS date_time_input_format = 'basic'", { f: file }, { insert_deduplicate: 0 });
  return performance.now() - t;
}

interface DrainResult {
  eventsIn: number; drainMs: number; stored: number; batches: number; prepareMs: number; insertWaitMs: number;
  insertMs: Map<string, number>; cpuMs: number; rssBefore: number; peakRss: number; peakAnon: number; peakHeap: number; chMemory: number;
}

/** One full drain of the log by a fresh transformer in consumer group `group`. */
async function drain(ch: ClickHouse, eventLog: EventLog, config: Config, logger: Logger, group: string): Promise<DrainResult> {
  const timed = timedInserts(ch);
  const transformer = new EventsTransformer({ ch: timed.ch, config, log: logger });
  await transformer.refresh();
  const topic = config.topics.events;
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  let peakHeap = 0;
  let peakAnon = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakAnon = Math.max(peakAnon, rssAnon());
  }, 100);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const consumer = await eventLog.consume({ topic, group, handler: transformer.handle, maxBatch: config.transform.batchMax, maxWaitMs: config.transform.flushMs });
  for (;;) {
    const lag = await eventLog.lag(topic, group);
    if (lag.every((p) => p.lag === 0)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const drainMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  await consumer.stop();
  const [stored] = await ch.rows<{ n: string }>('SELECT count() AS n FROM events');
  // What the embedded ClickHouse itself holds (caches, merges), to tell it apart from the transformer's heap.
  const [chMem] = await ch.rows<{ v: string }>("SELECT value AS v FROM system.metrics WHERE metric = 'MemoryTracking'");
  const s = transformer.stats;
  return {
    eventsIn: s.eventsIn, drainMs, stored: Number(stored?.n ?? 0), batches: s.batches, prepareMs: s.prepareMs, insertWaitMs: s.insertMs,
    insertMs: timed.ms, cpuMs: (cpu.user + cpu.system) / 1000, rssBefore, peakRss, peakAnon, peakHeap, chMemory: Number(chMem?.v ?? 0),
  };
}

const bench: BenchModule = {
  name: 'transform',
  async run({ quick, log }) {
    const total = quick ? 200_000 : 2_000_000;
    const ceilingRows = Math.min(total, 400_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-bench-transform-'));
    const config = testConfig({ CVM_DATA_DIR: dir, CVM_LOG_MAX_BYTES: String(32 * 1024 ** 3) });
    const logger = initLogging({ level: 'warn', destination: (await import('pino')).default.destination(2) });
    const ch = await connectClickHouse(config);
    await migrate(ch);
    await seedDefaultRates(ch);
    const eventLog = await openEventLog(config, logger);
    const topic = config.topics.events;
    try {
      // Fill the log, and write the first rows, standardised exactly as the transformer will, for the ceiling.
      const fx = await FxTable.load(ch);
      const sessions = new Sessioniser();
      const ceilingFile = path.join(dir, 'ceiling.jsonl');
      const out = fs.openSync(ceilingFile, 'w');
      const catalogue = demoCatalogue();
      const end = Date.now();
      let appended = 0;
      const tFill = performance.now();
      for (let seed = 1; appended < total; seed++) {
        const slice = generateHistory(catalogue, { customers: 2000, days: 180, end, seed });
        for (let i = 0; i < slice.length && appended < total; i += 5000) {
          const chunk = slice.slice(i, Math.min(i + 5000, i + total - appended));
          const records = chunk.map((h) => {
            const rec: CollectedRecord = { v: 1, site: config.keys.demoSite, received_at: h.receivedAt, source: h.source, user_agent: h.userAgent, event: h.event };
            return { key: partitionKey(h.event as { customer_id?: string; anonymous_id?: string }), value: JSON.stringify(rec) };
          });
          if (appended < ceilingRows) {
            const lines: string[] = [];
            records.forEach((r, k) => {
              if (appended + k >= ceilingRows) return;
              const s = standardise(JSON.parse(r.value) as CollectedRecord, { fx, baseCurrency: config.baseCurrency }, { log_topic: topic, log_partition: 0, log_offset: appended + k });
              if (!s.ok) return;
              const e = s.event;
              e.session_id = sessions.assign({ site: e.site, anonymousId: e.anonymous_id, customerId: e.customer_id, sessionId: e.session_id, tsMs: s.tsMs, opens: e.type !== 'refund' && e.type !== 'identify' });
              lines.push(JSON.stringify(e));
            });
            if (lines.length) fs.writeSync(out, lines.join('\n') + '\n');
          }
          await eventLog.append(topic, records);
          appended += records.length;
        }
      }
      fs.closeSync(out);
      log(`filled the log with ${appended} events in ${((performance.now() - tFill) / 1000).toFixed(1)} s`);

      // Ceiling: ClickHouse alone, same rows (MV to sessions included, as for the transformer's inserts).
      const ceilMs1 = await ceilingInsert(ch, ceilingFile);
      await ch.exec('TRUNCATE TABLE events');
      await ch.exec('TRUNCATE TABLE sessions_agg');
      log(`ceiling: ${ceilingRows} rows in ${(ceilMs1 / 1000).toFixed(2)} s`);

      // The transformer drains the log: with the default batch (5000 records, one insert per table), and
      // with 20000-record batches cut into four pipelined chunks. Each drain reads the whole log as its own
      // consumer group into emptied tables.
      const drains: Array<{ batchMax: number; result: DrainResult }> = [];
      for (const batchMax of [config.transform.batchMax, 20_000]) {
        for (const t of ['events', 'order_items', 'identities', 'customers', 'events_rejected', 'sessions_agg']) await ch.exec(`TRUNCATE TABLE ${t}`);
        const result = await drain(ch, eventLog, { ...config, transform: { ...config.transform, batchMax } }, logger, `bench-${batchMax}`);
        log(`batch ${batchMax}: drained ${result.eventsIn} events in ${(result.drainMs / 1000).toFixed(2)} s; ${result.stored} rows in events`);
        drains.push({ batchMax, result });
      }

      // Ceiling again after the drains (the machine is shared: two samples, the mean is the baseline).
      const ceilMs2 = await ceilingInsert(ch, ceilingFile);
      const ceiling = (ceilingRows / ((ceilMs1 + ceilMs2) / 2)) * 1000;
      const rows: BenchRow[] = drains.map(({ batchMax, result: r }) => ({
        name: `transform: log → ClickHouse, ${total.toLocaleString('en')} demo events, batch ${batchMax}${batchMax >= 10_000 ? ' (pipelined chunks)' : ''}`,
        value: (r.eventsIn / r.drainMs) * 1000,
        unit: 'events/s',
        baseline: { name: 'ClickHouse alone: INSERT … FROM file(JSONEachRow) of the same rows', value: ceiling },
        extra: {
          drain_s: Math.round(r.drainMs) / 1000,
          ceiling_rows: ceilingRows,
          ceiling_runs_rows_per_s: `${Math.round((ceilingRows / ceilMs1) * 1000)}/${Math.round((ceilingRows / ceilMs2) * 1000)}`,
          prepare_s: Math.round(r.prepareMs) / 1000,
          insert_wait_s: Math.round(r.insertWaitMs) / 1000,
          insert_events_s: Math.round(r.insertMs.get('events') ?? 0) / 1000,
          insert_order_items_s: Math.round(r.insertMs.get('order_items') ?? 0) / 1000,
          cpu_s: Math.round(r.cpuMs) / 1000,
          batches: r.batches,
          rows_stored: r.stored,
          rss_before_drain_mb: mb(r.rssBefore),
          peak_rss_during_drain_mb: mb(r.peakRss),
          peak_rss_anon_during_drain_mb: mb(r.peakAnon),
          peak_js_heap_during_drain_mb: mb(r.peakHeap),
          clickhouse_memory_after_drain_mb: mb(r.chMemory),
          max_rss_process_mb: Math.round(process.resourceUsage().maxRSS / 1024),
        },
      }));
      return rows;
    } finally {
      await eventLog.close();
      await ch.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
