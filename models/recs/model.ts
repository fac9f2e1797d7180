// What the offline evaluation (and the tests) see of a recommender: fit on interactions, then score
// every item for one user. Ranking, exclusion and tie-breaking are shared (topK) so that models
// differ only in their scores.
import type { Interactions } from './interactions.ts';

export interface FitContext {
  /** The reference time: the end of the training period. */
  now: number;
}

export interface Recommender {
  readonly name: string;
  fit(train: Interactions, ctx: FitContext): void;
  /** Adds the user's score for every item into `out` (length = number of items, zeroed by the caller). */
  score(user: number, out: Float32Array): void;
  params(): Record<string, unknown>;
}

/**
 * The k best items by score, skipping items where `excluded[i]` is 1. Ties (often zero scores for a
 * user with little history) fall back to `tiebreak` (item popularity), then to the lower index.
 */
export function topK(scores: ArrayLike<number>, k: number, excluded?: Uint8Array, tiebreak?: ArrayLike<number>): Int32Array {
  const items = new Int32Array(k);
  const best = new Float64Array(k);
  const tie = new Float64Array(k);
  let size = 0;
  const n = scores.length;
  for (let i = 0; i < n; i++) {
    if (excluded && excluded[i] === 1) continue;
    const s = scores[i]!;
    const t = tiebreak ? tiebreak[i]! : 0;
    if (size === k) {
      const ls = best[k - 1]!;
      if (s < ls || (s === ls && t <= tie[k - 1]!)) continue;
    }
    let p = size < k ? size++ : k - 1;
    while (p > 0 && (best[p - 1]! < s || (best[p - 1]! === s && tie[p - 1]! < t))) {
      best[p] = best[p - 1]!;
      tie[p] = tie[p - 1]!;
      items[p] = items[p - 1]!;
      p--;
    }
    best[p] = s;
    tie[p] = t;
    items[p] = i;
  }
  return items.slice(0, size);
}
