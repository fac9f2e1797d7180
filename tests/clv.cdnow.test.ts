// The CDNOW benchmark: the 1/10 sample's transactions are read, summarised to the 1997-09-30 calibration
// end in weeks, and BG/NBD + Gamma-Gamma fitted by maximum likelihood; the results must match the
// published figures (Fader, Hardie & Lee 2005; Fader & Hardie 2013 note 025; CLVTools' tests).
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fitBgNbd } from '../models/clv/bgnbd.ts';
import { fitFile, type ClvFitReport } from '../models/clv/clv-fit.command.ts';
import { fitGammaGamma, repeatBuyers } from '../models/clv/gamma-gamma.ts';
import { parseIsoDay } from '../ingest/transactions/dates.ts';
import type { RfmSummary } from '../models/transactions/rfm-summary.ts';

const DIR = path.join(import.meta.dirname, 'fixtures', 'cdnow');
const SAMPLE = path.join(DIR, 'CDNOW_sample.txt');

// r, α, a, b at the optimum (CLVTools test_correctness_bgnbd.R; the paper prints 0.243, 4.414, 0.793, 2.426).
const BG = { r: 0.2425945, alpha: 4.4136019, a: 0.7929199, b: 2.4258881, ll: -9582.429 };
// p, q, γ (paper note: 6.25, 3.74, 15.44; to more digits 6.2488, 3.7446, 15.4477), LL −4055.9177.
const GG = { p: 6.2488, q: 3.7446, gamma: 15.4477, ll: -4055.9177 };

function within(actual: number, expected: number, rel: number): void {
  expect(Math.abs(actual / expected - 1)).toBeLessThan(rel);
}

describe('CDNOW 1/10 sample', () => {
  let report: ClvFitReport;
  let summary: RfmSummary;

  beforeAll(async () => {
    ({ report, summary } = await fitFile({
      file: SAMPLE,
      format: 'cdnow',
      calibrationEnd: parseIsoDay('1997-09-30'),
      holdoutEnd: parseIsoDay('1998-06-30'),
    }));
  });

  it('the summary built from the transactions matches the published summary file', () => {
    const rows = fs
      .readFileSync(path.join(DIR, 'cdnow_customers_summary_with_transactions.csv'), 'utf8')
      .trim()
      .split(/\r?\n/)
      .slice(1)
      .map((l) => l.split(',').map(Number));
    expect(summary.ids).toHaveLength(2357);
    const pos = new Map(summary.ids.map((id, i) => [id, i]));
    let maxT = 0;
    let maxZ = 0;
    for (const [id, x, tx, T, zbar] of rows as [number, number, number, number, number][]) {
      const i = pos.get(String(id));
      expect(i).toBeDefined();
      expect(summary.x[i!]).toBe(x);
      maxT = Math.max(maxT, Math.abs(summary.tx[i!]! - tx), Math.abs(summary.T[i!]! - T));
      maxZ = Math.max(maxZ, Math.abs(summary.zbar[i!]! - zbar));
    }
    // The file is rounded to 2 decimals.
    expect(maxT).toBeLessThanOrEqual(0.005);
    expect(maxZ).toBeLessThanOrEqual(0.005 + 1e-9);
    expect(report.calibration).toEqual({ repeat_buyers: 946, repeat_transactions: 2457 });
    expect(report.input.rows).toBe(6919);
  });

  it('BG/NBD parameters within 1% of the published values, log-likelihood within 0.1', () => {
    within(report.bgnbd.r, BG.r, 0.01);
    within(report.bgnbd.alpha, BG.alpha, 0.01);
    within(report.bgnbd.a, BG.a, 0.01);
    within(report.bgnbd.b, BG.b, 0.01);
    expect(Math.abs(report.bgnbd.loglik - BG.ll)).toBeLessThan(0.1);
    // And to the paper's printed precision.
    expect(report.bgnbd.r).toBeCloseTo(0.243, 3);
    expect(report.bgnbd.alpha).toBeCloseTo(4.414, 3);
    expect(report.bgnbd.a).toBeCloseTo(0.793, 3);
    expect(report.bgnbd.b).toBeCloseTo(2.426, 3);
  });

  it('Gamma-Gamma parameters within 1% of the published values, log-likelihood within 0.1', () => {
    expect(report.gammagamma.customers).toBe(946);
    within(report.gammagamma.p, GG.p, 0.01);
    within(report.gammagamma.q, GG.q, 0.01);
    within(report.gammagamma.gamma, GG.gamma, 0.01);
    expect(Math.abs(report.gammagamma.loglik - GG.ll)).toBeLessThan(0.1);
  });

  it('holdout to 1998-06-30 matches the independent figures (forecast ~1,653 vs 1,882; corr 0.626)', () => {
    const h = report.holdout!;
    expect(h.weeks).toBe(39);
    expect(h.actual_repeat_transactions).toBe(1882);
    expect(Math.abs(h.predicted_repeat_transactions - 1653.4)).toBeLessThan(2);
    expect(h.correlation).toBeCloseTo(0.626, 2);
    expect(h.customers_active).toBe(684);
    expect(h.auc_any_purchase).toBeCloseTo(0.7725, 2);
  });

  it('fits the published (rounded) summary file to the same optimum', () => {
    const rows = fs
      .readFileSync(path.join(DIR, 'cdnow_customers_summary_with_transactions.csv'), 'utf8')
      .trim()
      .split(/\r?\n/)
      .slice(1)
      .map((l) => l.split(',').map(Number));
    const col = (k: number) => Float64Array.from(rows, (r) => r[k]!);
    const bg = fitBgNbd({ x: col(1), tx: col(2), T: col(3) });
    within(bg.params.r, BG.r, 0.01);
    within(bg.params.b, BG.b, 0.01);
    expect(Math.abs(bg.logLik - BG.ll)).toBeLessThan(0.1);
    const gg = fitGammaGamma(repeatBuyers(col(1), col(4)));
    within(gg.params.p, GG.p, 0.01);
    within(gg.params.gamma, GG.gamma, 0.01);
    expect(Math.abs(gg.logLik - GG.ll)).toBeLessThan(0.1);
  });
});
