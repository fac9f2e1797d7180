// Baseline: item-based kNN with cosine similarity on the binary user×item matrix; a user's score for
// item j is the sum of j's similarities to the items the user has (every neighbour counts).
import type { Interactions } from './interactions.ts';
import { buildUserItem, type UserItemMatrix } from './matrix.ts';
import type { Recommender } from './model.ts';
import { cachedItemSimilarity, type SparseRows } from './similarity.ts';

export class ItemKnn implements Recommender {
  readonly name = 'item-knn';
  private m: UserItemMatrix | null = null;
  private sim: SparseRows | null = null;

  constructor(private readonly opts: { neighbours?: number } = {}) {}

  fit(train: Interactions): void {
    this.m = buildUserItem(train);
    this.sim = cachedItemSimilarity(train, this.m, { kind: 'cosine', topM: this.opts.neighbours ?? 0 });
  }

  score(user: number, out: Float32Array): void {
    const m = this.m;
    const s = this.sim;
    if (!m || !s || user >= m.nUsers) return;
    for (let e = m.indptr[user]!; e < m.indptr[user + 1]!; e++) {
      const i = m.indices[e]!;
      for (let p = s.indptr[i]!; p < s.indptr[i + 1]!; p++) out[s.indices[p]!]! += s.values[p]!;
    }
  }

  params(): Record<string, unknown> {
    return { similarity: 'cosine', neighbours: this.opts.neighbours ?? 'all' };
  }
}
