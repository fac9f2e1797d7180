// GET /v1/recommendations on loopback: p50/p99 and requests/s, against GET /health on the same server in
// the same run (the cost of HTTP alone). Data: the demo shop, then the recs job.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testConfig } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';
import { startRuntime, waitForDrain } from '../bin/runtime.ts';
import { appendDemoHistory, loadCatalogue } from '../storefront/demo/load.ts';
import { percentile, timedRequests, type BenchModule, type BenchRow } from './harness.ts';

const ADMIN = 'sk_bench_recs';

const hammer = (urls: string[], concurrency: number) =>
  timedRequests(urls, concurrency, (url) => fetch(url, { headers: { authorization: `Bearer ${ADMIN}` } }));

const bench: BenchModule = {
  name: 'recs',
  async run({ quick, log }) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-bench-recs-'));
    const config = testConfig({ CVM_DATA_DIR: dir, CVM_ADMIN_KEY: ADMIN, PORT: '0', CVM_API_RATE_LIMIT_PER_MINUTE: '100000000' });
    const rt = await startRuntime(config, initLogging({ level: 'warn' }), { collector: true, transformer: true, scheduler: false, api: true });
    const rows: BenchRow[] = [];
    try {
      await loadCatalogue(rt.deps.ch);
      await appendDemoHistory(rt.eventLog!, rt.deps.config, { customers: quick ? 300 : 2000, days: 180 }, rt.models.clock.now());
      await waitForDrain(rt, 300_000);
      const [run] = await rt.models.run('recs');
      log(`recs: job ${run!.status} in ${run!.durationMs} ms`);
      const n = quick ? 3000 : 20_000;
      const customers = quick ? 300 : 2000;
      const recUrls = Array.from({ length: n }, (_, i) => `${rt.url}/v1/recommendations?customer_id=C${String((i * 7919) % customers + 1).padStart(5, '0')}&limit=10`);
      const healthUrls = Array.from({ length: n }, () => `${rt.url}/health`);
      const base = await hammer(healthUrls, 8);
      const recs = await hammer(recUrls, 8);
      if (recs.failures) log(`recs: ${recs.failures} failed requests`);
      rows.push({
        name: 'GET /v1/recommendations (8 concurrent)',
        value: n / recs.seconds,
        unit: 'req/s',
        baseline: { name: 'GET /health, same server', value: n / base.seconds },
        extra: { p50_ms: percentile(recs.latencies, 50), p99_ms: percentile(recs.latencies, 99), health_p99_ms: percentile(base.latencies, 99), failures: recs.failures },
      });
    } finally {
      await rt.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    return rows;
  },
};

export default bench;
