// GET /v1/customers/:id on loopback: requests/s and p50/p99 with a fixed concurrency for a bounded time
// (an autocannon-style loop over keep-alive connections), for the storefront view (scores and
// recommendations from memory) and the analyst view (plus profile, orders and sessions from ClickHouse).
// Baseline, measured in the same run on the same server: a bare Fastify route returning constant JSON.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { testConfig } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';
import { startRuntime, waitForDrain } from '../bin/runtime.ts';
import { appendDemoHistory, loadCatalogue } from '../storefront/demo/load.ts';
import { buildApp } from '../api/app.ts';
import { percentile, type BenchModule, type BenchRow } from './harness.ts';

interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
}

/** `concurrency` workers, each sending its next request when the previous answer is read, for `seconds`. */
async function load(port: number, paths: string[], headers: Record<string, string>, concurrency: number, seconds: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const one = (p: string) =>
    new Promise<number>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: p, headers, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const p = paths[next++ % paths.length]!;
        const s = performance.now();
        const status = await one(p).catch(() => 0);
        latencies.push(performance.now() - s);
        if (status !== 200) errors++;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, errors, seconds: elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

const bench: BenchModule = {
  name: 'api',
  async run({ quick, log }) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-bench-api-'));
    const config = testConfig({ CVM_DATA_DIR: dir, CVM_ADMIN_KEY: 'sk_admin_bench', PORT: '0', CVM_API_RATE_LIMIT_PER_MINUTE: '100000000' });
    // No HTTP roles here: the API app is built below, so the baseline route can join it before it listens.
    const rt = await startRuntime(config, initLogging({ level: 'warn' }), { collector: false, transformer: true, scheduler: false, api: false }, { listen: false });
    const rows: BenchRow[] = [];
    try {
      const customers = quick ? 400 : 2000;
      await loadCatalogue(rt.deps.ch);
      const events = await appendDemoHistory(rt.eventLog!, rt.deps.config, { customers, days: 180 }, rt.models.clock.now());
      await waitForDrain(rt, 600_000);
      const runs = await rt.models.run('all');
      log(`api: ${events} events, ${customers} customers; models ${runs.map((r) => `${r.model}:${r.status}`).join(' ')}`);

      const app = await buildApp(rt.deps, { api: true, collector: false });
      app.get('/bench/constant', async () => ({ customer_id: 'C00001', rfm: { r: 5, f: 4, m: 3, segment: 'Champions' }, clv: { clv: 123.45 }, churn: { churn_risk: 0.12 } }));
      await app.listen({ port: 0, host: '127.0.0.1' });
      const port = (app.server.address() as { port: number }).port;

      const keys = rt.deps.services.keys;
      const storefront = (await keys.create({ role: 'storefront', name: 'bench' })).secret;
      const analyst = (await keys.create({ role: 'analyst', name: 'bench' })).secret;
      const ids = (await rt.deps.ch.rows<{ customer_id: string }>('SELECT customer_id FROM rfm_scores WHERE run_id = (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = \'rfm\' AND status = \'ok\') ORDER BY cityHash64(customer_id) LIMIT 500')).map((r) => r.customer_id);
      const paths = ids.map((id) => `/v1/customers/${encodeURIComponent(id)}`);
      const seconds = quick ? 3 : 10;
      const concurrency = 16;

      // Warm-up (JIT, first queries), then baseline and measurements back to back.
      await load(port, paths, { authorization: `Bearer ${analyst}` }, 4, 1);
      const baselines = new Map<number, LoadResult>();
      const baselineAt = async (c: number) => {
        let b = baselines.get(c);
        if (!b) baselines.set(c, (b = await load(port, ['/bench/constant'], { authorization: `Bearer ${storefront}` }, c, seconds)));
        return b;
      };
      const cases = [
        ['storefront (scores + recommendations, from memory)', storefront, concurrency],
        ['analyst (+ profile, orders, sessions from ClickHouse)', analyst, concurrency],
        // chDB answers one query at a time: with one client the latency is the work itself, not the queue.
        ['analyst, one client at a time', analyst, 1],
      ] as const;
      for (const [label, key, c] of cases) {
        const base = await baselineAt(c);
        const r = await load(port, paths, { authorization: `Bearer ${key}` }, c, seconds);
        rows.push({
          name: `GET /v1/customers/:id as ${label}`,
          value: r.requests / r.seconds,
          unit: 'req/s',
          baseline: { name: 'bare Fastify route, constant JSON, same server', value: base.requests / base.seconds },
          extra: { p50_ms: r.p50, p99_ms: r.p99, baseline_p50_ms: base.p50, baseline_p99_ms: base.p99, errors: r.errors, concurrency: c, seconds, customers },
        });
        log(`api: ${label}: ${(r.requests / r.seconds).toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${r.errors} errors`);
      }
      for (const [c, b] of baselines) log(`api: baseline, ${c} client(s): ${(b.requests / b.seconds).toFixed(0)} req/s, p50 ${b.p50.toFixed(2)} ms, p99 ${b.p99.toFixed(2)} ms`);
      await app.close();
    } finally {
      await rt.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    return rows;
  },
};

export default bench;
