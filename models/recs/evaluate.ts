// Runs several recommenders on one split and scores them with the same candidates, exclusions and
// tie-breaking, so that the table compares models and nothing else.
import { buildUserItem, itemSupport } from './matrix.ts';
import { MetricsAccumulator, type RankingMetrics } from './metrics.ts';
import { topK, type Recommender } from './model.ts';
import { groundTruth, type Split } from './splits.ts';

export interface EvaluateOptions {
  k: number;
  /** Keep items the user already had in training as candidates (repeat purchases of consumables). */
  keepSeen?: boolean;
}

export interface ModelResult {
  metrics: RankingMetrics;
  fitMs: number;
  scoreMs: number;
  params: Record<string, unknown>;
}

export interface SplitStats {
  trainRows: number;
  testRows: number;
  trainUsers: number;
  trainItems: number;
  evaluatedUsers: number;
  relevantPerUser: number;
}

export function evaluateModels(models: Recommender[], split: Split, opts: EvaluateOptions): { results: Record<string, ModelResult>; stats: SplitStats } {
  const keepSeen = opts.keepSeen ?? false;
  const truth = groundTruth(split, keepSeen);
  const m = buildUserItem(split.train);
  const popularity = itemSupport(m);
  // Candidates: items of the training catalogue (nobody can recommend an item it never saw).
  const base = new Uint8Array(m.nItems);
  let catalogue = 0;
  for (let i = 0; i < m.nItems; i++) {
    if (popularity[i] === 0) base[i] = 1;
    else catalogue++;
  }
  const users = [...truth.keys()].sort((a, b) => a - b);
  const results: Record<string, ModelResult> = {};
  for (const model of models) {
    const t0 = performance.now();
    model.fit(split.train, { now: split.now });
    const t1 = performance.now();
    const acc = new MetricsAccumulator(opts.k, catalogue);
    const scores = new Float32Array(m.nItems);
    const excluded = new Uint8Array(m.nItems);
    for (const u of users) {
      scores.fill(0);
      model.score(u, scores);
      excluded.set(base);
      if (!keepSeen && u < m.nUsers) for (let e = m.indptr[u]!; e < m.indptr[u + 1]!; e++) excluded[m.indices[e]!] = 1;
      acc.add(topK(scores, opts.k, excluded, popularity), truth.get(u)!);
    }
    results[model.name] = { metrics: acc.result(), fitMs: t1 - t0, scoreMs: performance.now() - t1, params: model.params() };
  }
  let relevant = 0;
  for (const s of truth.values()) relevant += s.size;
  let trainUsers = 0;
  for (let u = 0; u < m.nUsers; u++) if (m.indptr[u + 1]! > m.indptr[u]!) trainUsers++;
  return {
    results,
    stats: {
      trainRows: split.train.length,
      testRows: split.test.length,
      trainUsers,
      trainItems: catalogue,
      evaluatedUsers: users.length,
      relevantPerUser: users.length ? relevant / users.length : 0,
    },
  };
}
