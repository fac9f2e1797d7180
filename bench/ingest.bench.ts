// Ingestion: events/s from POST to queryable in ClickHouse (batches of 100) against the raw ceiling of
// ClickHouse inserting the same rows from a JSONEachRow file; and the collector's requests/s against a
// bare Fastify route doing the same validation, both measured in this run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { testConfig } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';
import { startRuntime, type Runtime } from '../bin/runtime.ts';
import { validateEvent } from '../ingest/contract.ts';
import { demoCatalogue } from '../storefront/demo/catalogue.ts';
import { generateHistory } from '../storefront/demo/history.ts';
import { percentile, timedRequests, type BenchModule, type BenchRow } from './harness.ts';

const WRITE = 'wk_bench';

const postLoop = (url: string, bodies: string[], concurrency: number) =>
  timedRequests(bodies, concurrency, (body) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-cvm-key': WRITE }, body }));

async function countEvents(rt: Runtime): Promise<number> {
  const [row] = await rt.deps.ch.rows<{ n: string }>('SELECT count() AS n FROM events');
  return Number(row?.n ?? 0);
}

const bench: BenchModule = {
  name: 'ingest',
  async run({ quick, log }) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-bench-ingest-'));
    const config = testConfig({ CVM_DATA_DIR: dir, CVM_DEMO_WRITE_KEY: WRITE, CVM_ADMIN_KEY: 'sk_bench', PORT: '0', CVM_RATE_LIMIT_PER_MINUTE: '10000000' });
    const rt = await startRuntime(config, initLogging({ level: 'warn' }), { collector: true, transformer: true, scheduler: false, api: true });
    const rows: BenchRow[] = [];
    try {
      const customers = quick ? 400 : 2000;
      const history = generateHistory(demoCatalogue(), { customers, days: 90, end: Date.now() }).map((h) => h.event);
      const n = history.length - (history.length % 100);
      const batches: string[] = [];
      for (let i = 0; i < n; i += 100) batches.push(JSON.stringify({ batch: history.slice(i, i + 100) }));
      log(`ingest: ${n} events in ${batches.length} batches of 100`);

      // End to end: POST → log → transformer → queryable.
      const t0 = performance.now();
      const posted = await postLoop(`${rt.url}/v1/batch`, batches, 8);
      while ((await countEvents(rt)) < n) await new Promise((r) => setTimeout(r, 50));
      const e2eSeconds = (performance.now() - t0) / 1000;
      if (posted.failures) log(`ingest: ${posted.failures} failed requests`);

      // Ceiling: ClickHouse inserting the very same rows from a JSONEachRow file.
      const file = path.join(dir, 'events.jsonl');
      await rt.deps.ch.exec(`INSERT INTO FUNCTION file({f:String}, 'JSONEachRow') SELECT * FROM events`, { f: file });
      await rt.deps.ch.exec('CREATE TABLE events_ceiling AS events');
      const c0 = performance.now();
      await rt.deps.ch.exec(`INSERT INTO events_ceiling SELECT * FROM file({f:String}, 'JSONEachRow')`, { f: file });
      const ceilingSeconds = (performance.now() - c0) / 1000;

      rows.push({
        name: 'ingest e2e: POST (batches of 100) → queryable in ClickHouse',
        value: n / e2eSeconds,
        unit: 'events/s',
        baseline: { name: 'ClickHouse JSONEachRow file insert of the same rows', value: n / ceilingSeconds },
        extra: { events: n, post_p50_ms: percentile(posted.latencies, 50), post_p99_ms: percentile(posted.latencies, 99) },
      });

      // Collector alone: one event per request and 100 per request, against a bare route with the same validation.
      const bare = Fastify();
      bare.addContentTypeParser('application/json', { parseAs: 'string' }, (_r, b, done) => done(null, b));
      bare.post('/v1/batch', async (req) => {
        const body = JSON.parse(req.body as string) as { batch: unknown[] };
        let accepted = 0;
        for (const e of body.batch) if (validateEvent(e).ok) accepted++;
        return { accepted, rejected: [] };
      });
      await bare.listen({ port: 0, host: '127.0.0.1' });
      const bareUrl = `http://127.0.0.1:${(bare.server.address() as { port: number }).port}/v1/batch`;
      const singles = history.slice(0, quick ? 3000 : 10_000).map((e) => JSON.stringify({ batch: [e] }));
      const hundreds = batches.slice(0, quick ? 60 : 200);
      for (const [label, bodies, perReq] of [['single events', singles, 1], ['batches of 100', hundreds, 100]] as const) {
        const base = await postLoop(bareUrl, [...bodies], 8);
        const real = await postLoop(`${rt.url}/v1/batch`, [...bodies], 8);
        rows.push({
          name: `collector ${label}`,
          value: (bodies.length * perReq) / real.seconds,
          unit: 'events/s',
          baseline: { name: 'bare Fastify route, same validation', value: (bodies.length * perReq) / base.seconds },
          extra: { requests_per_s: bodies.length / real.seconds, p50_ms: percentile(real.latencies, 50), p99_ms: percentile(real.latencies, 99), bare_p99_ms: percentile(base.latencies, 99) },
        });
      }
      await bare.close();
      rows.push({ name: 'ingest peak RSS', value: process.resourceUsage().maxRSS / 1024, unit: 'MB' });
    } finally {
      await rt.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    return rows;
  },
};

export default bench;
