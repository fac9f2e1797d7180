// Model run time on a large generated shop (default 100k customers, 5M purchase events; --quick 10k / 500k),
// against a baseline measured in the same run: one full aggregation of the same events per customer.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testConfig } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';
import { chTime } from '../lib/clickhouse.ts';
import { sql } from '../lib/sql.ts';
import { openStore } from '../bin/runtime.ts';
import { ModelRunner } from '../models/runner.ts';
import { modelJobs } from '../models/registry.ts';
import type { BenchModule, BenchRow } from './harness.ts';

const bench: BenchModule = {
  name: 'models',
  async run({ quick, log }) {
    const customers = quick ? 10_000 : 100_000;
    const events = quick ? 500_000 : 5_000_000;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-bench-models-'));
    const config = testConfig({ CVM_DATA_DIR: dir });
    const logger = initLogging({ level: 'warn' });
    const ch = await openStore(config, logger);
    const rows: BenchRow[] = [];
    try {
      const now = new Date();
      const g0 = performance.now();
      await ch.exec(sql('bench/synthetic-purchases'), { now: chTime(now.getTime()), customers, events });
      log(`models: generated ${events} purchases in ${((performance.now() - g0) / 1000).toFixed(1)} s`);
      const b0 = performance.now();
      await ch.rows('SELECT count() AS customers FROM (SELECT resolved_customer_id, count(), sum(amount_base), max(ts) FROM events_consented GROUP BY resolved_customer_id)');
      const baseline = (performance.now() - b0) / 1000;
      const runner = new ModelRunner({ ch, config, log: logger });
      for (const job of await modelJobs()) runner.register(job);
      let total = 0;
      for (const job of await modelJobs()) {
        const t0 = performance.now();
        const [run] = await runner.run(job.name, now);
        const seconds = (performance.now() - t0) / 1000;
        total += seconds;
        rows.push({
          name: `model ${job.name} (${customers} customers, ${events} events)`,
          value: seconds,
          unit: 's',
          baseline: { name: 'one GROUP BY customer over the same events', value: baseline },
          extra: { status: run!.status, rows_written: run!.rowsWritten, ...(run!.error ? { error: run!.error.slice(0, 80) } : {}) },
        });
      }
      rows.push({ name: 'all models', value: total, unit: 's', baseline: { name: 'one GROUP BY customer over the same events', value: baseline }, extra: { peak_rss_mb: process.resourceUsage().maxRSS / 1024 } });
    } finally {
      await ch.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    return rows;
  },
};

export default bench;
