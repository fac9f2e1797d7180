import { describe, expect, it } from 'vitest';
import { auc, brier, evaluateChurn, expectedCalibrationError, reliability, topFraction } from '../models/churn/metrics.ts';

describe('churn metrics (hand-checked)', () => {
  it('AUC of a known ranking', () => {
    // Pairs (pos, neg): (0.35 vs 0.1 ✓) (0.35 vs 0.4 ✗) (0.8 vs 0.1 ✓) (0.8 vs 0.4 ✓) → 3/4.
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 12);
    expect(auc([1, 2, 3, 4], [0, 0, 1, 1])).toBe(1);
    expect(auc([4, 3, 2, 1], [0, 0, 1, 1])).toBe(0);
    // A tie between a positive and a negative counts half: (0.5 vs 0.5 → ½) + (0.5 vs 0.2 → 1) = 1.5 / 2.
    expect(auc([0.5, 0.5, 0.2], [1, 0, 0])).toBeCloseTo(0.75, 12);
    expect(auc([0.3, 0.6], [1, 1])).toBeNaN();
  });

  it('precision and recall in the top decile', () => {
    // 20 customers, top decile = 2: the best two are one churner and one non-churner; 4 churners in all.
    const scores = Array.from({ length: 20 }, (_, i) => 20 - i);
    const labels = [1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
    const top = topFraction(scores, labels, 0.1);
    expect(top.k).toBe(2);
    expect(top.precision).toBe(0.5);
    expect(top.recall).toBe(0.25);
  });

  it('a tied group at the cut counts pro rata, not by sort order', () => {
    // n = 10, k = 1; the three highest scores tie and two of them churned → 2/3 of a hit.
    const top = topFraction([0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], [1, 0, 1, 0, 0, 0, 0, 0, 0, 1], 0.1);
    expect(top.precision).toBeCloseTo(2 / 3, 12);
    expect(top.recall).toBeCloseTo(2 / 3 / 3, 12);
  });

  it('Brier score and reliability bins', () => {
    expect(brier([0.9, 0.2], [1, 0])).toBeCloseTo((0.01 + 0.04) / 2, 12);
    const bins = reliability([0.05, 0.15, 0.95, 0.92], [0, 1, 1, 0], 10);
    expect(bins.map((b) => [b.lower, b.count])).toEqual([[0, 1], [0.1, 1], [0.9, 2]]);
    expect(bins[2]!.meanPredicted).toBeCloseTo(0.935, 12);
    expect(bins[2]!.observedRate).toBe(0.5);
    // (1·0.05 + 1·0.85 + 2·0.435) / 4
    expect(expectedCalibrationError(bins)).toBeCloseTo(0.4425, 12);
  });

  it('evaluateChurn puts the figures together', () => {
    const e = evaluateChurn([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
    expect(e.n).toBe(4);
    expect(e.positives).toBe(2);
    expect(e.auc).toBeCloseTo(0.75, 12);
    expect(e.precisionTopDecile).toBe(1); // k = ceil(0.4) = 1: the 0.8, a churner
    expect(e.recallTopDecile).toBe(0.5);
    expect(e.liftTopDecile).toBe(2);
    expect(e.brier).toBeCloseTo((0.01 + 0.16 + 0.4225 + 0.04) / 4, 12);
  });
});
