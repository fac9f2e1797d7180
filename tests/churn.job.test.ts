import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClickHouse, type ClickHouse } from '../lib/clickhouse.ts';
import { testConfig } from '../lib/config.ts';
import { createLogger, initLogging } from '../lib/logger.ts';
import { migrate } from '../lib/migrate.ts';
import { ModelRunner, latestRunId } from '../models/runner.ts';
import { createChurnJob } from '../models/churn/churn.job.ts';
import { syntheticShop } from './fixtures/churn/synthetic-events.ts';

const NOW = new Date('2024-06-30T00:00:00Z');

describe('churn job on chDB', () => {
  let dir: string;
  let ch: ClickHouse;
  let runner: ModelRunner;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-'));
    const config = testConfig({ CVM_DATA_DIR: dir, CVM_CHURN_HORIZON_DAYS: '60' });
    ch = await connectClickHouse(config);
    await migrate(ch);
    const shop = syntheticShop({ customers: 400, now: NOW, historyDays: 365 });
    await ch.insert('events', shop.events);
    initLogging({ level: 'silent' });
    runner = new ModelRunner({ ch, config, log: createLogger({ name: 'test' }) });
    // Few optimiser steps keep the test fast; the synthetic signal is strong.
    runner.register(createChurnJob({ train: { targetSteps: 300 } }));
  });

  afterAll(async () => {
    await ch?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes churn_scores for the latest ok run, with the backtest in the run metrics', async () => {
    const [first] = await runner.run('churn', NOW);
    expect(first?.status, first?.error).toBe('ok');
    const [second] = await runner.run('churn', NOW);
    expect(second?.status, second?.error).toBe('ok');
    const runId = await latestRunId(ch, 'churn');
    expect(runId).toBe(second!.runId);

    const buyers = await ch.rows<{ n: string }>(
      `SELECT uniqExact(customer_id) AS n FROM events WHERE type = 'purchase' AND ts <= {now:DateTime64(3, 'UTC')}`,
      { now: '2024-06-30 00:00:00.000' },
    );
    const rows = await ch.rows<{ customer_id: string; churn_risk: number; p_alive: number | null; model_used: string; reasons: string[] }>(
      'SELECT customer_id, churn_risk, p_alive, model_used, reasons FROM churn_scores WHERE run_id = {run:String} ORDER BY churn_risk DESC',
      { run: runId },
    );
    expect(rows.length).toBe(Number(buyers[0]!.n));
    expect(second!.rowsWritten).toBe(rows.length);
    for (const r of rows) {
      expect(r.churn_risk).toBeGreaterThanOrEqual(0);
      expect(r.churn_risk).toBeLessThanOrEqual(1);
      expect(r.p_alive).not.toBeNull();
    }
    const metrics = second!.metrics as Record<string, any>;
    expect(new Set(rows.map((r) => r.model_used))).toEqual(new Set([metrics.chosen_model]));
    expect(typeof metrics.chosen_why).toBe('string');
    for (const name of ['logistic', 'mlp', 'p_alive', 'p_no_purchase']) {
      expect(metrics.candidates[name].auc, name).toBeGreaterThan(0);
      expect(metrics.candidates[name].brier, name).toBeGreaterThan(0);
    }
    // The synthetic shop's dropout is visible in recency and carts: the served model must rank well.
    expect(metrics.candidates[metrics.chosen_model].auc).toBeGreaterThan(0.75);
    // The riskiest customers get reasons, and they are sentences, not feature names.
    for (const r of rows.slice(0, 20)) {
      expect(r.reasons.length).toBeGreaterThan(0);
      for (const text of r.reasons) expect(text).toMatch(/ /);
    }
    // Old runs stay as they were: each run has its own rows.
    const perRun = await ch.rows<{ run_id: string; n: string }>('SELECT run_id, count() AS n FROM churn_scores GROUP BY run_id ORDER BY run_id');
    expect(perRun.map((r) => r.run_id).sort()).toEqual([first!.runId, second!.runId].sort());
  });

  it('serves a tfjs model with reasons from its own contributions when it is the only candidate', async () => {
    const only = new ModelRunner({ ch, config: testConfig({ CVM_DATA_DIR: dir, CVM_CHURN_HORIZON_DAYS: '60' }), log: createLogger({ name: 'test' }) });
    only.register(createChurnJob({ candidates: ['logistic'], train: { targetSteps: 300 } }));
    const [run] = await only.run('churn', NOW);
    expect(run?.status, run?.error).toBe('ok');
    const metrics = run!.metrics as Record<string, any>;
    expect(metrics.chosen_model).toBe('logistic');
    expect(metrics.candidates.logistic.auc).toBeGreaterThan(0.75);
    const params = run!.params as Record<string, any>;
    expect(Object.keys(params.logistic_coefficients)).toContain('recency_days');
    const rows = await ch.rows<{ model_used: string; churn_risk: number; reasons: string[] }>(
      'SELECT model_used, churn_risk, reasons FROM churn_scores WHERE run_id = {run:String} ORDER BY churn_risk DESC LIMIT 30',
      { run: run!.runId },
    );
    expect(rows.every((r) => r.model_used === 'logistic')).toBe(true);
    // Dropouts in this shop stop buying and abandon carts: the top of the list says so.
    const said = rows.flatMap((r) => r.reasons).join('\n');
    expect(said).toMatch(/no purchase for \d+ days|no purchase in the last (30|90) days/);
  });
});
