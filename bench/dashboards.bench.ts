// Dashboards: how long each dashboard's data takes to load (GET /v1/dashboards/:id, every panel's query
// run one after the other as the UI asks for them), first load and then warm, on the demo shop.
// Baseline in the same run: a `SELECT 1` round trip to the same ClickHouse, the floor of any query.
// Reported: wall p50/p95 of warm loads, the first load, and the process CPU time per load (chDB is in-process).
// --data PATH reads an existing store (e.g. a `cvm start` data directory, stopped); otherwise a demo
// store is built in a temporary directory (2,000 customers × 180 days like `cvm start`; --quick: 300 × 120).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testConfig } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';
import { startRuntime, waitForDrain, type Runtime } from '../bin/runtime.ts';
import { loadDemoStore } from '../storefront/demo/dashboards-store.ts';
import { registry } from '../dashboards/panel-registry.ts';
import { percentile, type BenchModule, type BenchRow } from './harness.ts';

const KEY = 'sk_bench_dashboards';

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const bench: BenchModule = {
  name: 'dashboards',
  async run({ dataPath, quick, log }) {
    const dir = dataPath ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-bench-dashboards-'));
    const config = testConfig({ CVM_DATA_DIR: dir, CVM_ADMIN_KEY: KEY, CVM_TRANSFORM_FLUSH_MS: '50' });
    const fresh = !dataPath;
    const rt: Runtime = await startRuntime(config, initLogging({ level: 'warn' }), { collector: fresh, transformer: fresh, scheduler: false, api: true }, { listen: false });
    const rows: BenchRow[] = [];
    try {
      if (fresh) {
        const size = quick ? { customers: 300, days: 120 } : { customers: 2000, days: 180 };
        const rep = await loadDemoStore(rt, size, { waitForDrain: (ms) => waitForDrain(rt, ms) });
        log(`dashboards: demo store ${size.customers} customers × ${size.days} days: ${rep.events} events + ${rep.recEvents} recommendation events, ` +
          `models ${rep.runs.map((r) => `${r.model}:${r.status}`).join(' ')} in ${(rep.ms / 1000).toFixed(1)} s`);
      }
      const [n] = await rt.deps.ch.rows<{ n: string }>('SELECT count() AS n FROM events');
      log(`dashboards: ${n?.n} events in the store`);
      const app = rt.app!;
      const get = async (url: string) => {
        const res = await app.inject({ url, headers: { authorization: `Bearer ${KEY}` } });
        if (res.statusCode !== 200) throw new Error(`${url}: HTTP ${res.statusCode} ${res.body.slice(0, 200)}`);
        return res.json() as { panels: Array<{ id: string; data: { status: string; ms: number } }> };
      };
      const reps = quick ? 5 : 15;
      for (const d of registry().dashboards.filter((x) => !x.hidden)) {
        const url = `/v1/dashboards/${d.id}`;
        // The SELECT 1 floor, measured right before this dashboard so both see the same machine load.
        const base: number[] = [];
        for (let i = 0; i < 30; i++) base.push(await timeIt(() => rt.deps.ch.rows('SELECT 1')));
        base.sort((a, b) => a - b);
        let first: Awaited<ReturnType<typeof get>> | null = null;
        const cold = await timeIt(async () => { first = await get(url); });
        const warm: number[] = [];
        const cpu: number[] = [];
        for (let i = 0; i < reps; i++) {
          // CPU time of this process (chDB runs in it) as well as wall time: on a shared, busy machine
          // the wall clock includes waiting for a core, CPU time much less so.
          const c0 = process.cpuUsage();
          warm.push(await timeIt(() => get(url)));
          const c = process.cpuUsage(c0);
          cpu.push((c.user + c.system) / 1000);
        }
        warm.sort((a, b) => a - b);
        cpu.sort((a, b) => a - b);
        const panels = first!.panels;
        const slowest = [...panels].sort((a, b) => b.data.ms - a.data.ms)[0];
        rows.push({
          name: `dashboard ${d.id}: all panels' data`,
          value: percentile(warm, 50),
          unit: 'ms',
          baseline: { name: 'SELECT 1 round trip p50', value: percentile(base, 50) },
          extra: {
            p95: percentile(warm, 95),
            cpu_p50: percentile(cpu, 50),
            first_load: cold,
            panels: panels.length,
            not_ok: panels.filter((p) => p.data.status !== 'ok').map((p) => `${p.id}=${p.data.status}`).join(' ') || 'none',
            slowest: slowest ? `${slowest.id} ${slowest.data.ms} ms` : '',
          },
        });
        log(`dashboards: ${d.id} p50 ${percentile(warm, 50).toFixed(0)} ms (first ${cold.toFixed(0)} ms), SELECT 1 p50 ${percentile(base, 50).toFixed(2)} ms`);
      }
    } finally {
      await rt.close();
      if (fresh) fs.rmSync(dir, { recursive: true, force: true });
    }
    return rows;
  },
};

export default bench;
