// Load test: `npm run bench:load [-- --seconds 30] [--data DIR]`. Starts `cvm start` (embedded) as a child
// process with the demo shop, then drives a sustained mixed load at it over loopback for a fixed time:
// snippet-style batches, single events, recommendation reads, customer 360 reads and dashboard panel
// queries, with GET /health as the same-run baseline (the cheapest route: the loopback + Fastify ceiling).
// Reports throughput and p50/p99 latency per endpoint, the transformer's log lag and the server's RSS,
// as a Markdown table, also written to test-artifacts/load-report.md.
//
// Every request loop is bounded (deadline and a request cap); only 127.0.0.1 is contacted.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { percentile, type BenchModule, type BenchRow } from './harness.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ADMIN = 'sk_admin_load_bench_0000000000';
const WRITE = 'wk_demo_shop';
const MAX_REQUESTS_PER_WORKER = 200_000;

interface Endpoint {
  name: string;
  workers: number;
  /** Events carried per request (0 for reads). */
  events: number;
  request: (i: number) => { method: 'GET' | 'POST'; path: string; body?: string; headers?: Record<string, string> };
}

interface Tally {
  latencies: number[];
  ok: number;
  failed: Map<string, number>;
}

export interface LoadResult {
  seconds: number;
  markdown: string;
  rows: Array<{ endpoint: string; workers: number; requests: number; rps: number; eventsPerSec: number; p50: number; p99: number; failed: string }>;
  lag: { max: number; end: number; drainSeconds: number | null };
  rssMb: { start: number; peak: number; end: number } | null;
}

async function startServer(dataDir: string, log: (l: string) => void): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'cvm.mjs'), 'start'], {
    env: {
      ...process.env,
      CVM_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', CVM_LOG_LEVEL: 'warn', CVM_ADMIN_KEY: ADMIN, CVM_DEMO_WRITE_KEY: WRITE,
      // The load is one site's traffic; the per-key rate limit would turn most of it into 429s.
      CVM_RATE_LIMIT_PER_MINUTE: '10000000',
      // Scheduled model runs would land at random points of the run; the demo load runs every model once.
      CVM_SCHEDULE_RFM: 'off', CVM_SCHEDULE_CLV: 'off', CVM_SCHEDULE_CHURN: 'off', CVM_SCHEDULE_RECS: 'off',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cvm did not start within 10 minutes:\n${out.slice(-2000)}`)), 600_000);
    const check = () => {
      const loading = /loading the demo shop/.test(out);
      if (loading && !/demo-noted/.test(out)) {
        out += '\n(demo-noted)\n';
        log('loading the demo shop into a fresh store (first run only, about a minute)…');
      }
      const m = /health\s+(http:\/\/[\d.]+:\d+)\/health/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cvm exited (${code}) before it was ready:\n${out.slice(-2000)}`));
    });
  });
  return { child, url, output: () => out };
}

function rssMb(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

async function getJson<T>(url: string): Promise<{ status: number; body: T | null }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${ADMIN}` } });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as T };
  } catch {
    return { status: res.status, body: null };
  }
}

function visitEvent(n: number, type: string, products: string[]): Record<string, unknown> {
  const product = products[n % products.length] ?? 'P0001';
  return {
    event_id: crypto.randomUUID(),
    type,
    ts: new Date().toISOString(),
    anonymous_id: `load-anon-${n % 5000}`,
    context: { page: { url: `https://demo-shop.example/p/${product}`, path: `/p/${product}` } },
    properties: type === 'page_view' ? {} : type === 'add_to_cart' ? { product_id: product, quantity: 1, price: 19.99, currency: 'EUR' } : { product_id: product },
  };
}

/** Which optional read endpoints this build serves, so the mix never measures 404s. */
async function discover(url: string, notes: string[]): Promise<{ products: string[]; customers: string[]; panels: string[]; recs: boolean }> {
  const customers = Array.from({ length: 2000 }, (_, i) => `C${String(i + 1).padStart(5, '0')}`);
  let panels: string[] = [];
  const dash = await getJson<{ dashboards?: Array<{ panels?: string[] }> }>(`${url}/v1/dashboards`);
  if (dash.status === 200 && dash.body?.dashboards) panels = dash.body.dashboards.flatMap((d) => d.panels ?? []).filter((p) => !/lag/.test(p));
  else notes.push(`dashboard panel queries skipped: GET /v1/dashboards answered ${dash.status}`);
  const recs = await getJson<{ items?: Array<{ product_id: string }> }>(`${url}/v1/recommendations?customer_id=C00001&limit=10`);
  const hasRecs = recs.status === 200;
  if (!hasRecs) notes.push(`recommendation reads skipped: GET /v1/recommendations answered ${recs.status}`);
  // Product ids as the recommender knows them (the demo catalogue's), for context-product reads and events.
  const products = new Set<string>((recs.body?.items ?? []).map((i) => i.product_id));
  for (let i = 2; products.size < 20 && i < 60; i++) {
    const r = await getJson<{ items?: Array<{ product_id: string }> }>(`${url}/v1/recommendations?customer_id=C${String(i).padStart(5, '0')}&limit=10`);
    for (const it of r.body?.items ?? []) products.add(it.product_id);
  }
  if (products.size === 0) products.add('P0001');
  return { products: [...products], customers, panels, recs: hasRecs };
}

export async function runLoad(opts: { seconds: number; dataDir?: string; log: (line: string) => void }): Promise<LoadResult> {
  const { log } = opts;
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-load-'));
  const server = await startServer(dataDir, log);
  const pid = server.child.pid;
  const notes: string[] = [];
  try {
    const { products, customers, panels, recs } = await discover(server.url, notes);
    const auth = { authorization: `Bearer ${ADMIN}` };
    const json = { 'content-type': 'application/json', 'x-cvm-key': WRITE };
    const endpoints: Endpoint[] = [
      {
        name: 'POST /v1/batch (snippet batch of 10)',
        workers: 3,
        events: 10,
        request: (i) => ({
          method: 'POST', path: '/v1/batch', headers: json,
          body: JSON.stringify({ batch: Array.from({ length: 10 }, (_, k) => visitEvent(i * 10 + k, k % 5 === 4 ? 'add_to_cart' : k % 2 ? 'product_view' : 'page_view', products)) }),
        }),
      },
      { name: 'POST /v1/track (single event)', workers: 2, events: 1, request: (i) => ({ method: 'POST', path: '/v1/track', headers: json, body: JSON.stringify(visitEvent(i, 'product_view', products)) }) },
      { name: 'GET /v1/customers/:id', workers: 1, events: 0, request: (i) => ({ method: 'GET', path: `/v1/customers/${customers[(i * 7919) % customers.length]}`, headers: auth }) },
      { name: 'GET /health (baseline)', workers: 1, events: 0, request: () => ({ method: 'GET', path: '/health' }) },
    ];
    if (recs) {
      endpoints.push({
        name: 'GET /v1/recommendations',
        workers: 2,
        events: 0,
        request: (i) => ({
          method: 'GET',
          path: i % 3 === 0 ? `/v1/recommendations?anonymous_id=load-anon-${i % 5000}&context_product=${products[i % products.length]}&limit=8` : `/v1/recommendations?customer_id=${customers[(i * 31) % customers.length]}&limit=8`,
          headers: auth,
        }),
      });
    }
    if (panels.length) {
      endpoints.push({ name: `GET /v1/panels/:id/data (${panels.length} panels, 30 days)`, workers: 1, events: 0, request: (i) => ({ method: 'GET', path: `/v1/panels/${panels[i % panels.length]}/data`, headers: auth }) });
    }

    const tallies = new Map<string, Tally>(endpoints.map((e) => [e.name, { latencies: [], ok: 0, failed: new Map() }]));
    const lagSamples: number[] = [];
    const rss: number[] = [];
    const rssStart = rssMb(pid);
    const sampler = setInterval(() => {
      const r = rssMb(pid);
      if (r !== null) rss.push(r);
      void fetch(`${server.url}/health`).then((res) => res.json() as Promise<{ transform_lag?: number }>).then((h) => lagSamples.push(h.transform_lag ?? 0), () => undefined);
    }, 1000);

    log(`load: ${opts.seconds} s against ${server.url}: ${endpoints.map((e) => `${e.name} ×${e.workers}`).join(', ')}`);
    const t0 = performance.now();
    const deadline = t0 + opts.seconds * 1000;
    await Promise.all(
      endpoints.flatMap((e) =>
        Array.from({ length: e.workers }, async (_, w) => {
          const tally = tallies.get(e.name)!;
          for (let i = w; i < MAX_REQUESTS_PER_WORKER * e.workers && performance.now() < deadline; i += e.workers) {
            const req = e.request(i);
            const s = performance.now();
            try {
              const res = await fetch(server.url + req.path, { method: req.method, headers: req.headers ?? {}, ...(req.body ? { body: req.body } : {}) });
              await res.arrayBuffer();
              tally.latencies.push(performance.now() - s);
              if (res.ok) tally.ok++;
              else tally.failed.set(String(res.status), (tally.failed.get(String(res.status)) ?? 0) + 1);
            } catch (err) {
              tally.failed.set('error', (tally.failed.get('error') ?? 0) + 1);
              if (server.child.exitCode !== null) throw new Error(`cvm exited during the load: ${(err as Error).message}\n${server.output().slice(-2000)}`);
            }
          }
        }),
      ),
    );
    const elapsed = (performance.now() - t0) / 1000;

    // Time for the transformer to catch up with what the load appended.
    const drainStart = performance.now();
    let drainSeconds: number | null = null;
    const endLag = (await getJson<{ transform_lag?: number }>(`${server.url}/health`)).body?.transform_lag ?? 0;
    let lagNow = endLag;
    while (performance.now() - drainStart < 120_000) {
      if (lagNow === 0) {
        drainSeconds = (performance.now() - drainStart) / 1000;
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
      lagNow = (await getJson<{ transform_lag?: number }>(`${server.url}/health`)).body?.transform_lag ?? lagNow;
    }
    clearInterval(sampler);
    const rssEnd = rssMb(pid);

    const rows = endpoints.map((e) => {
      const t = tallies.get(e.name)!;
      const sorted = [...t.latencies].sort((a, b) => a - b);
      const requests = t.ok + [...t.failed.values()].reduce((a, b) => a + b, 0);
      return {
        endpoint: e.name,
        workers: e.workers,
        requests,
        rps: requests / elapsed,
        eventsPerSec: (t.ok * e.events) / elapsed,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        failed: [...t.failed.entries()].map(([k, v]) => `${k}×${v}`).join(' ') || '0',
      };
    });
    const lag = { max: Math.max(0, endLag, ...lagSamples), end: endLag, drainSeconds };
    const rssMbOut = rssStart !== null && rssEnd !== null ? { start: rssStart, peak: Math.max(rssStart, rssEnd, ...rss), end: rssEnd } : null;
    const totalEvents = rows.reduce((n, r) => n + r.eventsPerSec, 0);
    const f = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
    const md = [
      '# Load test',
      '',
      `\`npm run bench:load -- --seconds ${opts.seconds}\` — ${new Date().toISOString()}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'cpu'}), Node ${process.version}.`,
      '`cvm start` (embedded: chDB + LMDB log, demo shop loaded) in one process; the load generator (this process, Node fetch) on the same',
      `machine over loopback, ${endpoints.reduce((n, e) => n + e.workers, 0)} concurrent request loops for ${elapsed.toFixed(1)} s. Latency is per request, client side.`,
      '',
      '| endpoint | loops | requests | req/s | events/s | p50 ms | p99 ms | non-2xx |',
      '|---|---:|---:|---:|---:|---:|---:|---|',
      ...rows.map((r) => `| ${r.endpoint} | ${r.workers} | ${r.requests} | ${f(r.rps)} | ${r.eventsPerSec ? f(r.eventsPerSec) : ''} | ${f(r.p50)} | ${f(r.p99)} | ${r.failed} |`),
      '',
      `- events accepted: ${f(totalEvents)}/s in total`,
      `- transformer log lag (events appended, not yet in ClickHouse; sampled each second): max ${lag.max}, ${lag.end} when the load stopped${drainSeconds === null ? ', not drained within 120 s' : lag.end > 0 ? `, drained ${drainSeconds.toFixed(1)} s later` : ''}`,
      rssMbOut ? `- server RSS: ${f(rssMbOut.start)} MiB before, peak ${f(rssMbOut.peak)} MiB, ${f(rssMbOut.end)} MiB after` : '- server RSS: not available (no /proc)',
      ...notes.map((n) => `- ${n}`),
      '',
    ].join('\n');
    return { seconds: elapsed, markdown: md, rows, lag, rssMb: rssMbOut };
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => (server.child.exitCode !== null ? r(null) : server.child.once('exit', r)));
    if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function toBenchRows(r: LoadResult): BenchRow[] {
  const base = r.rows.find((x) => x.endpoint.startsWith('GET /health'));
  return r.rows.map((x) => ({
    name: `load ${x.endpoint}`,
    value: x.rps,
    unit: 'req/s',
    ...(base && base !== x ? { baseline: { name: 'GET /health', value: base.rps } } : {}),
    extra: { p50_ms: x.p50, p99_ms: x.p99, events_per_s: x.eventsPerSec, non_2xx: x.failed, max_lag: r.lag.max, peak_rss_mb: r.rssMb?.peak ?? 'n/a' },
  }));
}

const bench: BenchModule = {
  name: 'load',
  async run({ dataPath, quick, log }) {
    return toBenchRows(await runLoad({ seconds: quick ? 10 : 30, ...(dataPath ? { dataDir: dataPath } : {}), log }));
  },
};
export default bench;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '30' }, data: { type: 'string' } } });
  const seconds = Number(values.seconds);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 3600) throw new Error('--seconds must be a number from 1 to 3600');
  const result = await runLoad({ seconds, ...(values.data ? { dataDir: path.resolve(values.data) } : {}), log: (l) => process.stderr.write(l + '\n') });
  const out = path.join(ROOT, 'test-artifacts', 'load-report.md');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, result.markdown);
  process.stdout.write(result.markdown + `\nwritten to ${path.relative(process.cwd(), out)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench:load failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
