import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../lib/config.ts';
import { createLogger, initLogging } from '../lib/logger.ts';
import { run } from '../models/churn/churn-evaluate.command.ts';
import { seededRandom } from '../models/churn/classifier.ts';

// A CDNOW-layout log (id, YYYYMMDD, cds, dollars) drawn the BG/NBD way: each customer buys at their own
// Poisson rate and may drop out right after any purchase.
function cdnowLike(file: string, customers: number): void {
  const rand = seededRandom(21);
  const lines: string[] = [];
  const start = Date.UTC(1997, 0, 1);
  const end = Date.UTC(1998, 5, 30);
  const day = 86_400_000;
  for (let c = 1; c <= customers; c++) {
    let t = start + Math.floor(rand() * 84) * day;
    const rate = 1 / (20 + rand() * 120);
    const dropout = 0.05 + rand() * 0.4;
    const stamp = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, '');
    while (t <= end) {
      lines.push(`${String(c).padStart(5, '0')} ${stamp(t)} 1 ${(5 + rand() * 40).toFixed(2)}`);
      if (rand() < dropout) break;
      t += Math.max(1, Math.round((-Math.log(1 - rand()) / rate))) * day;
    }
  }
  fs.writeFileSync(file, lines.join('\r\n') + '\r\n');
}

describe('cvm churn evaluate', () => {
  let dir: string;
  let file: string;
  const ctx = () => {
    const out: string[] = [];
    return { out, ctx: { config: testConfig(), log: createLogger({ name: 'test' }), out: (l: string) => out.push(l) } };
  };

  beforeAll(() => {
    initLogging({ level: 'silent' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-'));
    file = path.join(dir, 'cdnow_like.txt');
    cdnowLike(file, 600);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reports every candidate and the BG/NBD baseline as JSON', async () => {
    const { out, ctx: c } = ctx();
    const args = ['--transactions', file, '--format', 'cdnow', '--calibration-end', '1997-09-30', '--holdout-end', '1998-06-30'];
    const code = await run([...args, '--folds', '2', '--steps', '150', '--json'], c);
    expect(code).toBe(0);
    const report = JSON.parse(out.join('\n'));
    expect(report.customers).toBe(600);
    expect(report.horizon_days).toBe(273);
    expect(report.backtest.test_customers).toBe(600); // 2-fold: everyone is scored out of fold
    const byName = Object.fromEntries(report.backtest.candidates.map((x: any) => [x.name, x]));
    for (const name of ['logistic', 'mlp', 'p_alive', 'p_no_purchase']) {
      expect(byName[name].error, name).toBeUndefined();
      const e = byName[name].evaluation;
      expect(e.n).toBe(600);
      expect(e.auc).toBeGreaterThan(0);
      expect(e.auc).toBeLessThan(1);
      expect(e.brier).toBeGreaterThan(0);
      expect(e.reliability.length).toBeGreaterThan(0);
    }
    // Recency carries real signal in this log: the trained models beat a coin.
    expect(byName.logistic.evaluation.auc).toBeGreaterThan(0.65);
    expect(report.bgnbd_all_customers.expected_purchases.auc).toBeGreaterThan(0.6);
    expect(['logistic', 'mlp', 'p_alive', 'p_no_purchase']).toContain(report.backtest.chosen);
    expect(report.examples.length).toBe(3);

    const text = ctx();
    await run([...args, '--folds', '1', '--steps', '100'], text.ctx);
    expect(text.out.join('\n')).toMatch(/held-out\s+AUC/);
    expect(text.out.join('\n')).toMatch(/chosen: /);
  });

  it('rejects bad input with a message for the user', async () => {
    const { ctx: c } = ctx();
    await expect(run(['--transactions', file, '--calibration-end', '1997-09-30'], c)).rejects.toThrow(/--holdout-end is required/);
    await expect(run(['--transactions', file, '--calibration-end', '30/09/1997', '--holdout-end', '1998-06-30'], c)).rejects.toThrow(/must be a date/);
    await expect(run(['--transactions', file, '--calibration-end', '1998-09-30', '--holdout-end', '1998-06-30'], c)).rejects.toThrow(/after --calibration-end/);
    await expect(run(['--transactions', file, '--format', 'xls', '--calibration-end', '1997-09-30', '--holdout-end', '1998-06-30'], c)).rejects.toThrow(/--format must be one of/);
  });
});
