// Ranking metrics with binary relevance, defined as in Microsoft Recommenders (python_evaluation):
// averages run over users who have both held-out items and recommendations;
//   precision@k = hits / k
//   recall@k    = hits / |relevant|
//   ndcg@k      = Σ_hits 1/log(1+rank) / Σ_{r ≤ min(|relevant|, k)} 1/log(1+r)
//   map@k       = Σ_hits (hits so far / rank) / min(|relevant|, k)
// coverage is catalogue coverage: distinct recommended items / distinct items in the training data.

export interface RankingMetrics {
  precision: number;
  recall: number;
  ndcg: number;
  map: number;
  coverage: number;
  users: number;
}

export class MetricsAccumulator {
  private precision = 0;
  private recall = 0;
  private ndcg = 0;
  private map = 0;
  private users = 0;
  private readonly recommended = new Set<number>();

  constructor(readonly k: number, private readonly catalogueSize: number) {}

  /** `ranked`: the user's list, best first (only the first k count); `relevant`: held-out items. */
  add(ranked: ArrayLike<number>, relevant: ReadonlySet<number>): void {
    const n = Math.min(this.k, ranked.length);
    if (relevant.size === 0 || n === 0) return;
    let hits = 0;
    let dcg = 0;
    let ap = 0;
    for (let r = 0; r < n; r++) {
      const item = ranked[r]!;
      this.recommended.add(item);
      if (relevant.has(item)) {
        hits++;
        dcg += 1 / Math.log(2 + r);
        ap += hits / (r + 1);
      }
    }
    let idcg = 0;
    const ideal = Math.min(relevant.size, this.k);
    for (let r = 0; r < ideal; r++) idcg += 1 / Math.log(2 + r);
    this.precision += hits / this.k;
    this.recall += hits / relevant.size;
    this.ndcg += dcg / idcg;
    this.map += ap / ideal;
    this.users++;
  }

  result(): RankingMetrics {
    const n = this.users || 1;
    return {
      precision: this.precision / n,
      recall: this.recall / n,
      ndcg: this.ndcg / n,
      map: this.map / n,
      coverage: this.catalogueSize ? this.recommended.size / this.catalogueSize : 0,
      users: this.users,
    };
  }
}

/** The JSON shape the evaluate command prints: keys named with k. */
export function metricsJson(m: RankingMetrics, k: number): Record<string, number> {
  const r = (x: number) => Math.round(x * 1e6) / 1e6;
  return {
    [`precision@${k}`]: r(m.precision),
    [`recall@${k}`]: r(m.recall),
    [`ndcg@${k}`]: r(m.ndcg),
    [`map@${k}`]: r(m.map),
    coverage: r(m.coverage),
  };
}
