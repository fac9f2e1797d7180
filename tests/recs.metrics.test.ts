// Ranking metrics, computed by hand (Microsoft Recommenders' definitions, binary relevance).
import { describe, expect, it } from 'vitest';
import { MetricsAccumulator, metricsJson } from '../models/recs/metrics.ts';
import { evaluateModels } from '../models/recs/evaluate.ts';
import { fromRows } from '../models/recs/interactions.ts';
import type { Recommender } from '../models/recs/model.ts';
import { timeSplit } from '../models/recs/splits.ts';

describe('ranking metrics', () => {
  it('one user: hits at ranks 1 and 3 of 5, three relevant items', () => {
    const acc = new MetricsAccumulator(5, 10);
    acc.add([1, 2, 3, 4, 5], new Set([1, 3, 6]));
    const m = acc.result();
    expect(m.precision).toBeCloseTo(2 / 5, 10);
    expect(m.recall).toBeCloseTo(2 / 3, 10);
    // DCG = 1/log2(2) + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3) + 1/log2(4) = 2.1309
    expect(m.ndcg).toBeCloseTo(1.5 / (1 + 1 / Math.log2(3) + 0.5), 10);
    // AP@5 = (1/1 + 2/3) / min(3, 5)
    expect(m.map).toBeCloseTo((1 + 2 / 3) / 3, 10);
    expect(m.coverage).toBeCloseTo(5 / 10, 10);
  });

  it('averages over users and normalises map/ndcg with min(|relevant|, k)', () => {
    const acc = new MetricsAccumulator(2, 4);
    acc.add([7, 8], new Set([8, 9, 10])); // hit at rank 2
    acc.add([7, 9], new Set([11])); // no hit
    acc.add([1, 2], new Set()); // no relevant items: not counted
    const m = acc.result();
    expect(m.users).toBe(2);
    expect(m.precision).toBeCloseTo((1 / 2 + 0) / 2, 10);
    expect(m.recall).toBeCloseTo((1 / 3 + 0) / 2, 10);
    // user 1: DCG = 1/log2(3); IDCG over min(3,2)=2 ranks = 1 + 1/log2(3)
    expect(m.ndcg).toBeCloseTo((1 / Math.log2(3) / (1 + 1 / Math.log2(3))) / 2, 10);
    // user 1: AP = (1/2) / min(3, 2)
    expect(m.map).toBeCloseTo(0.25 / 2, 10);
    expect(m.coverage).toBeCloseTo(3 / 4, 10); // items 7, 8, 9 of 4
    expect(Object.keys(metricsJson(m, 2))).toEqual(['precision@2', 'recall@2', 'ndcg@2', 'map@2', 'coverage']);
  });

  it('a perfect list scores 1 everywhere but coverage', () => {
    const acc = new MetricsAccumulator(3, 3);
    acc.add([4, 5, 6], new Set([4, 5, 6]));
    const m = acc.result();
    expect([m.precision, m.recall, m.ndcg, m.map]).toEqual([1, 1, 1, 1]);
  });
});

describe('evaluateModels', () => {
  it('an oracle that knows the test items gets recall 1; seen items are never recommended', () => {
    const T = Date.UTC(2024, 0, 1);
    const data = fromRows([
      ['u1', 'a', T], ['u1', 'b', T], ['u2', 'a', T], ['u2', 'c', T], ['u3', 'd', T],
      ['u1', 'c', T + 10], ['u2', 'b', T + 10], ['u2', 'a', T + 10], ['u9', 'a', T + 10],
    ]);
    const split = timeSplit(data, T + 5);
    const testItems = new Map<number, Set<number>>();
    for (let k = 0; k < split.test.length; k++) {
      const u = split.test.user[k]!;
      if (!testItems.has(u)) testItems.set(u, new Set());
      testItems.get(u)!.add(split.test.item[k]!);
    }
    const oracle: Recommender = {
      name: 'oracle',
      fit() {},
      score(u, out) {
        for (const i of testItems.get(u) ?? []) out[i] = 1;
      },
      params: () => ({}),
    };
    const { results, stats } = evaluateModels([oracle], split, { k: 2 });
    // u1 → c, u2 → b (a was seen in training, so not relevant); u9 never trained: not evaluated.
    expect(stats.evaluatedUsers).toBe(2);
    expect(stats.relevantPerUser).toBe(1);
    const m = results.oracle!.metrics;
    expect(m.recall).toBe(1);
    expect(m.ndcg).toBe(1);
    expect(m.precision).toBe(0.5);
    // With --keep-seen, u2's repeat of a counts and a stays a candidate.
    const kept = evaluateModels([oracle], split, { k: 2, keepSeen: true });
    expect(kept.stats.relevantPerUser).toBe(1.5);
    expect(kept.results.oracle!.metrics.recall).toBe(1);
  });
});
