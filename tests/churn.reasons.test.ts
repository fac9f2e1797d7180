import { describe, expect, it } from 'vitest';
import { seededRandom } from '../models/churn/classifier.ts';
import { ALL_FEATURES, type RawFeatures } from '../models/churn/features.ts';
import { reasonsFor, topFeatures } from '../models/churn/reasons.ts';
import { bgnbdScorer, trainClassifierScorer } from '../models/churn/scorers.ts';
import { rawFeatures } from './fixtures/churn/raw-features.ts';

/**
 * Customers whose churn depends only on how long ago they last bought and how many carts they abandoned;
 * every other figure is random noise with the same spread.
 */
function customers(n: number, seed: number): RawFeatures[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const recency = Math.floor(rand() * 300);
    const carts = Math.floor(rand() * 6);
    const risk = Math.log1p(recency) / Math.log(300) + carts / 5 + (rand() - 0.5) * 0.2;
    const frequency = 1 + Math.floor(rand() * 10);
    return rawFeatures({
      customer_id: `c${i}`,
      recency_days: recency,
      abandoned_carts_90d: carts,
      frequency,
      purchase_days: frequency,
      monetary: rand() * 500,
      sessions_30d: Math.floor(rand() * 5),
      refund_count: Math.floor(rand() * 2),
      tenure_days: 300 + rand() * 200,
      review_count: 1,
      review_rating_mean: 1 + Math.floor(rand() * 5),
      churned: risk > 1.1 ? 1 : 0,
    });
  });
}

describe('churn reasons', () => {
  for (const kind of ['logistic', 'mlp'] as const) {
    it(`${kind}: the reasons of the riskiest customers are the features that drive churn`, async () => {
      const rows = customers(2000, 1);
      const scorer = await trainClassifierScorer(kind, rows, ALL_FEATURES, { targetSteps: 400 });
      const risk = scorer.score(rows);
      const top = Array.from(risk.keys()).sort((a, b) => risk[b]! - risk[a]!).slice(0, 100).map((i) => rows[i]!);
      const contrib = scorer.contributions(top);
      const drivers = new Set(['recency_days', 'abandoned_carts_90d']);
      const first = topFeatures(contrib, top.length, 1).map((f) => f[0]);
      const hits = first.filter((f) => f !== undefined && drivers.has(f)).length;
      expect(hits / top.length).toBeGreaterThan(0.9);
      const reasons = reasonsFor(top, contrib, { currency: 'USD', reference: rows });
      for (let i = 0; i < top.length; i++) {
        const said = reasons[i]!.join(' | ');
        if (first[i] === 'recency_days') expect(said).toContain(`no purchase for ${top[i]!.recency_days} days`);
        if (first[i] === 'abandoned_carts_90d') expect(said).toMatch(new RegExp(`${top[i]!.abandoned_carts_90d} abandoned carts? in the last 90 days`));
        expect(reasons[i]!.length).toBeLessThanOrEqual(3);
      }
    });
  }

  it('phrases trends and ratings as sentences, and skips facts on the reassuring side', () => {
    const rows = [
      rawFeatures({ customer_id: 'down', spend_90d: 40, spend_prev_90d: 100, review_count: 2, review_rating_mean: 1.5 }),
      rawFeatures({ customer_id: 'busy', purchases_30d: 7, spend_90d: 400, spend_prev_90d: 100, review_count: 2, review_rating_mean: 5 }),
    ];
    const features = ['spend_trend_90d', 'review_sentiment', 'purchases_30d'] as const;
    // Pretend every input pushes risk up for both customers.
    const contrib = { features: [...features], values: Float64Array.from([3, 2, 1, 3, 2, 1]) };
    const [down, busy] = reasonsFor(rows, contrib, { currency: 'USD' });
    expect(down).toEqual(['spend down 60% vs previous 90 days', 'mean review rating 1.5/5 (2 reviews)', '1 purchase in the last 30 days']);
    // Above-average activity is never phrased as a churn reason, whatever its contribution.
    expect(busy).toEqual([]);
  });

  it('BG/NBD reasons: a long silence after regular buying reads as recency', () => {
    const params = { r: 0.24, alpha: 4.4, a: 0.79, b: 2.4 };
    const reference = Array.from({ length: 50 }, (_, i) =>
      rawFeatures({ customer_id: `r${i}`, x: 3, t_x_days: 300, T_days: 320, recency_days: 20, tenure_days: 320 }),
    );
    const silent = rawFeatures({ customer_id: 'silent', x: 3, t_x_days: 40, T_days: 320, recency_days: 280, tenure_days: 320 });
    const scorer = bgnbdScorer(params, reference);
    const contrib = scorer.contributions([silent]);
    expect(topFeatures(contrib, 1, 1)[0]).toEqual(['recency_days']);
    expect(reasonsFor([silent], contrib, { currency: 'USD', reference })[0]![0]).toBe('no purchase for 280 days');
  });
});
