// A shop with less history than the churn horizon: nothing before T0 to backtest on.
// Its own file because chDB binds one data directory per process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClickHouse, type ClickHouse } from '../lib/clickhouse.ts';
import { testConfig } from '../lib/config.ts';
import { createLogger, initLogging } from '../lib/logger.ts';
import { migrate } from '../lib/migrate.ts';
import { ModelRunner } from '../models/runner.ts';
import { createChurnJob } from '../models/churn/churn.job.ts';
import { syntheticShop } from './fixtures/churn/synthetic-events.ts';

const NOW = new Date('2024-06-30T00:00:00Z');

describe('churn job on a young shop', () => {
  let dir: string;
  let ch: ClickHouse;
  const config = () => testConfig({ CVM_DATA_DIR: dir, CVM_CHURN_HORIZON_DAYS: '60' });

  beforeAll(async () => {
    initLogging({ level: 'silent' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-'));
    ch = await connectClickHouse(config());
    await migrate(ch);
    const shop = syntheticShop({ customers: 200, now: NOW, historyDays: 300, seed: 5 });
    // Only the last 45 days of history.
    await ch.insert('events', shop.events.filter((e) => String(e.ts) > '2024-05-16'));
  });

  afterAll(async () => {
    await ch?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves BG/NBD P(no purchase in the horizon) and says why', async () => {
    const runner = new ModelRunner({ ch, config: config(), log: createLogger({ name: 'test' }) });
    runner.register(createChurnJob({ train: { targetSteps: 100 } }));
    const [run] = await runner.run('churn', NOW);
    expect(run?.status, run?.error).toBe('ok');
    const metrics = run!.metrics as Record<string, any>;
    expect(metrics.calibration_customers).toBe(0);
    expect(metrics.chosen_model).toBe('p_no_purchase');
    expect(metrics.chosen_why).toMatch(/no backtest possible/);
    const rows = await ch.rows<{ n: string; models: string[]; lo: number; hi: number }>(
      'SELECT count() AS n, groupUniqArray(model_used) AS models, min(churn_risk) AS lo, max(churn_risk) AS hi FROM churn_scores WHERE run_id = {run:String}',
      { run: run!.runId },
    );
    expect(Number(rows[0]!.n)).toBe(run!.rowsWritten);
    expect(run!.rowsWritten).toBeGreaterThan(50);
    expect(rows[0]!.models).toEqual(['p_no_purchase']);
    expect(rows[0]!.lo).toBeGreaterThanOrEqual(0);
    expect(rows[0]!.hi).toBeLessThanOrEqual(1);
    expect(rows[0]!.hi).toBeGreaterThan(rows[0]!.lo);
  });
});
