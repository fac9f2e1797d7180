// Known answers for the CLV maths: special functions against closed forms, BG/NBD and Gamma-Gamma
// quantities against the figures published by Fader, Hardie & Lee and asserted by lifetimes / BTYD.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  bgnbdLogLik,
  conditionalExpectedPurchases,
  expectedPurchases,
  fitBgNbd,
  pAlive,
  probabilityOfPurchases,
  type BgNbdParams,
} from '../models/clv/bgnbd.ts';
import { conditionalExpectedSpend, fitGammaGamma, repeatBuyers } from '../models/clv/gamma-gamma.ts';
import { auc, correlation } from '../models/clv/holdout.ts';
import { discountedPurchases, lifetimesSchedule, monthlySchedule } from '../models/clv/lifetime-value.ts';
import { multiStart, nelderMead } from '../models/clv/optimize.ts';
import { simulateCustomers } from '../models/clv/simulate.ts';
import { hyp2f1, logGamma, scaledHyp2f1 } from '../models/clv/special.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'cdnow', 'cdnow_customers_summary_with_transactions.csv');

function loadSummary() {
  const rows = fs.readFileSync(FIXTURE, 'utf8').trim().split(/\r?\n/).slice(1).map((l) => l.split(',').map(Number));
  const col = (k: number) => Float64Array.from(rows, (r) => r[k]!);
  return { x: col(1), tx: col(2), T: col(3), zbar: col(4) };
}

// The paper's rounded parameters (FHL 2005 Sec. 7), and the optimum to more digits (CLVTools' test).
const PAPER: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const PRECISE: BgNbdParams = { r: 0.2425945, alpha: 4.4136019, a: 0.7929199, b: 2.4258881 };

describe('special functions', () => {
  it('logGamma matches known values', () => {
    expect(logGamma(1)).toBeCloseTo(0, 14);
    expect(logGamma(2)).toBeCloseTo(0, 14);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 13);
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 12);
    expect(logGamma(1e-3)).toBeCloseTo(6.907178885383854, 12);
    // Stirling's series for a large argument.
    const z = 1e5;
    const stirling = (z - 0.5) * Math.log(z) - z + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * z);
    expect(logGamma(z) / stirling).toBeCloseTo(1, 13);
  });

  it('hyp2f1 matches closed forms, near z = 1 too', () => {
    for (const z of [0.1, 0.5, 0.9, 0.99, 0.999]) {
      // ₂F₁(1, 1; 2; z) = −ln(1−z)/z
      expect(hyp2f1(1, 1, 2, z)).toBeCloseTo(-Math.log1p(-z) / z, 10);
      // ₂F₁(a, b; b; z) = (1−z)^−a
      expect(hyp2f1(0.7, 3.2, 3.2, z) / Math.pow(1 - z, -0.7)).toBeCloseTo(1, 11);
      // ₂F₁(½, 1; 3/2; −z²) = arctan(z)/z, through Pfaff's transformation for negative arguments.
      expect(hyp2f1(0.5, 1, 1.5, -z * z)).toBeCloseTo(Math.atan(z) / z, 12);
    }
    expect(scaledHyp2f1(2, 1, 1, 2, 0.5)).toBeCloseTo(0.25 * 2 * Math.log(2), 12);
    expect(() => hyp2f1(1, 1, -2, 0.5)).toThrow(/undefined/);
    expect(() => hyp2f1(1, 1, 2, 1)).toThrow(RangeError);
  });
});

describe('BG/NBD known answers (Hardie spreadsheet via lifetimes / BTYD)', () => {
  it('E[X(t)] at the published times', () => {
    const times = [0.1429, 1, 3, 31.8571, 32, 78];
    const expected = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576];
    // lifetimes checks these at decimal=3 with its fitted parameters; at the optimum they agree to
    // ±0.0004 (1.85796 at t = 78; the spreadsheet's 4th decimal reflects its own rounding of the fit).
    times.forEach((t, i) => expect(Math.abs(expectedPurchases(PRECISE, t) - expected[i]!)).toBeLessThan(5e-4));
  });

  it('E[Y(39) | x=2, t_x=30.43, T=38.86] = 1.226', () => {
    expect(conditionalExpectedPurchases(PAPER, 39, 2, 30.43, 38.86)).toBeCloseTo(1.226, 3);
  });

  it('P(X(39) = 0) = 0.5737864 and the pmf sums to 1', () => {
    expect(probabilityOfPurchases(PAPER, 39, 0)).toBeCloseTo(0.5737864, 7);
    let sum = 0;
    for (let n = 0; n < 300; n++) sum += probabilityOfPurchases(PAPER, 39, n);
    expect(sum).toBeCloseTo(1, 9);
    // The pmf's mean is E[X(t)].
    let mean = 0;
    for (let n = 1; n < 400; n++) mean += n * probabilityOfPurchases(PAPER, 10, n);
    expect(mean).toBeCloseTo(expectedPurchases(PAPER, 10), 6);
  });

  it('P(alive) is 1 without repeats and falls as the last purchase gets older', () => {
    expect(pAlive(PAPER, 0, 0, 30)).toBe(1);
    const recent = pAlive(PAPER, 3, 30, 32);
    const old = pAlive(PAPER, 3, 5, 32);
    expect(recent).toBeGreaterThan(old);
    expect(recent).toBeLessThanOrEqual(1);
    expect(old).toBeGreaterThan(0);
  });

  it('stays finite for heavy buyers and long horizons', () => {
    const e = conditionalExpectedPurchases(PAPER, 520, 300, 77.9, 78);
    expect(Number.isFinite(e)).toBe(true);
    expect(e).toBeGreaterThan(100);
    expect(Number.isFinite(bgnbdLogLik(PAPER, { x: Float64Array.of(5000), tx: Float64Array.of(500), T: Float64Array.of(501) }))).toBe(true);
  });
});

describe('Gamma-Gamma and CLV known answers', () => {
  const s = loadSummary();

  it('conditional expected average spend, customers 1–10 (Hardie spreadsheet via lifetimes)', () => {
    // At the fitted optimum (p 6.2488, q 3.7446, γ 15.4477); the spreadsheet's figures are to the cent.
    const gg = fitGammaGamma(repeatBuyers(s.x, s.zbar)).params;
    const expected = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17];
    expected.forEach((v, i) => expect(Math.abs(conditionalExpectedSpend(gg, s.x[i]!, s.zbar[i]!) - v)).toBeLessThan(0.01));
    // Mean over all 2,357 customers vs the observed mean zbar of repeat buyers (lifetimes Quickstart: 35.2530 vs 35.0786).
    let sum = 0;
    for (let i = 0; i < s.x.length; i++) sum += conditionalExpectedSpend(gg, s.x[i]!, s.zbar[i]!);
    const rb = repeatBuyers(s.x, s.zbar);
    expect(sum / s.x.length).toBeCloseTo(35.253, 2);
    expect(rb.m.reduce((p, q) => p + q, 0) / rb.m.length).toBeCloseTo(35.0786, 3);
  });

  it("reproduces lifetimes' documented 12-month CLV for customers 1–10", () => {
    // lifetimes docs/Quickstart.md: customer_lifetime_value(bgf, ..., time=12, discount_rate=0.01) with the
    // default freq='D', i.e. 30 model units (here weeks) per "month". Its own fits on the same file.
    const bg = fitBgNbd(s).params;
    const gg = fitGammaGamma(repeatBuyers(s.x, s.zbar)).params;
    const schedule = lifetimesSchedule(12, 0.01, 30);
    const expected = [140.1, 18.94, 38.18, 38.18, 38.18, 1003.87, 28.11, 38.18, 167.42, 38.18];
    expected.forEach((v, i) => {
      const clv = conditionalExpectedSpend(gg, s.x[i]!, s.zbar[i]!) * discountedPurchases(bg, schedule, s.x[i]!, s.tx[i]!, s.T[i]!);
      expect(Math.abs(clv - v)).toBeLessThan(0.01);
    });
  });

  it('monthly schedule: 12 steps for a year, discounting by exactly the annual rate', () => {
    const sch = monthlySchedule(365.25, 0.1);
    expect(sch.ends).toHaveLength(12);
    expect(sch.ends[11]).toBeCloseTo(365.25 / 7, 10);
    expect(sch.factors[11]).toBeCloseTo(1 / 1.1, 12);
    const short = monthlySchedule(45, 0.1);
    expect(short.ends).toHaveLength(2);
    expect(short.ends[1]).toBeCloseTo(45 / 7, 12);
    // With no discount the discounted sum is the plain expectation over the horizon.
    const flat = monthlySchedule(365, 0);
    expect(discountedPurchases(PAPER, flat, 2, 30.43, 38.86)).toBeCloseTo(conditionalExpectedPurchases(PAPER, 365 / 7, 2, 30.43, 38.86), 12);
  });
});

describe('optimiser and holdout metrics', () => {
  it('multi-start keeps the best of several local minima', () => {
    const f = (v: number[]) => (v[0]! ** 2 - 1) ** 2 + 0.3 * v[0]! + v[1]! ** 2;
    const single = nelderMead(f, [2, 1]);
    expect(single.converged).toBe(true);
    expect(single.x[0]).toBeGreaterThan(0); // the worse, right-hand minimum
    const multi = multiStart(f, [[2, 1], [-2, 1]]);
    expect(multi?.x[0]).toBeLessThan(-0.9);
    expect(multi?.startsConverged).toBe(2);
  });

  it('a run that follows a ridge to infinity does not count as converged', () => {
    const ridge = (v: number[]) => Math.exp(-v[0]!) + (v[1]! - v[0]!) ** 2;
    expect(multiStart(ridge, [[0, 0], [1, -1]])).toBeNull();
  });

  it('AUC and correlation', () => {
    expect(auc([0.1, 0.4, 0.35, 0.8], [false, false, true, true])).toBeCloseTo(0.75, 12);
    expect(auc([1, 1, 1, 1], [false, true, false, true])).toBeCloseTo(0.5, 12);
    expect(correlation([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(correlation([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
  });
});

describe('parameter recovery on simulated customers', () => {
  it('fits BG/NBD and Gamma-Gamma close to the parameters that generated the data', () => {
    const bgTrue = { r: 0.5, alpha: 6, a: 0.7, b: 3 };
    const ggTrue = { p: 5, q: 4, gamma: 20 };
    const lengths = Array.from({ length: 6000 }, (_, i) => 26 + (i % 27));
    const sim = simulateCustomers(bgTrue, ggTrue, lengths, 7);
    const x = Float64Array.from(sim, (c) => c.times.length - 1);
    const tx = Float64Array.from(sim, (c) => c.times[c.times.length - 1]!);
    const T = Float64Array.from(sim, (c) => c.T);
    const zbar = Float64Array.from(sim, (c) => (c.values.length > 1 ? c.values.slice(1).reduce((p, q) => p + q, 0) / (c.values.length - 1) : 0));
    const bg = fitBgNbd({ x, tx, T });
    // Sampling error with 6,000 customers is several percent; the expectations are what matter.
    expect(bg.params.r).toBeGreaterThan(0.4);
    expect(bg.params.r).toBeLessThan(0.62);
    expect(bg.params.a / (bg.params.a + bg.params.b)).toBeCloseTo(0.7 / 3.7, 1);
    expect(expectedPurchases(bg.params, 52) / expectedPurchases(bgTrue, 52)).toBeCloseTo(1, 1);
    const gg = fitGammaGamma(repeatBuyers(x, zbar));
    expect((gg.params.p * gg.params.gamma) / (gg.params.q - 1)).toBeCloseTo((5 * 20) / 3, -1);
    expect(gg.params.p).toBeGreaterThan(4);
    expect(gg.params.p).toBeLessThan(6.2);
  });
});
