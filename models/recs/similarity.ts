// Item-item similarity from co-occurrence on the binary user×item matrix: c_ij = number of users who
// have both i and j, c_ii = number of users who have i. Rows are kept sparse (a catalogue of a few
// thousand items has a few million non-zero pairs), optionally cut to the M strongest neighbours.
import { itemUsers, type UserItemMatrix } from './matrix.ts';

export type SimilarityKind = 'jaccard' | 'lift' | 'cosine' | 'cooccurrence';
export const SIMILARITY_KINDS: readonly SimilarityKind[] = ['jaccard', 'lift', 'cosine', 'cooccurrence'];

export interface SparseRows {
  n: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array;
}

export interface SimilarityOptions {
  kind: SimilarityKind;
  /** Pairs seen together by fewer users than this are dropped (SAR's co-occurrence threshold). */
  threshold?: number;
  /** Keep only the strongest M neighbours per item; 0 keeps all. */
  topM?: number;
  /** Keep s_ii (SAR keeps the diagonal; it only matters when seen items stay candidates). */
  includeSelf?: boolean;
  /**
   * Per-entry weights aligned with the matrix entries (e.g. the decayed affinity): co-occurrence becomes
   * Σ_u min(w_ui, w_uj) and an item's support Σ_u w_ui, the weighted Jaccard the recs job computes in SQL.
   * The threshold still counts users. Without weights every entry counts 1.
   */
  weights?: Float32Array;
}

export function similarityValue(kind: SimilarityKind, cij: number, cii: number, cjj: number): number {
  switch (kind) {
    case 'jaccard':
      return cij / (cii + cjj - cij);
    case 'lift':
      return cij / (cii * cjj);
    case 'cosine':
      return cij / Math.sqrt(cii * cjj);
    case 'cooccurrence':
      return cij;
  }
}

class RowsBuilder {
  indices = new Int32Array(1 << 16);
  values = new Float32Array(1 << 16);
  n = 0;
  push(j: number, v: number): void {
    if (this.n === this.indices.length) {
      const i2 = new Int32Array(this.n * 2); i2.set(this.indices); this.indices = i2;
      const v2 = new Float32Array(this.n * 2); v2.set(this.values); this.values = v2;
    }
    this.indices[this.n] = j;
    this.values[this.n] = v;
    this.n++;
  }
}

export function itemSimilarity(m: UserItemMatrix, opts: SimilarityOptions): SparseRows {
  const threshold = opts.threshold ?? 1;
  const topM = opts.topM ?? 0;
  const includeSelf = opts.includeSelf ?? true;
  const { indptr: colPtr, users, entries } = itemUsers(m);
  const w = opts.weights;
  const support = new Float64Array(m.nItems);
  for (let i = 0; i < m.nItems; i++) {
    if (!w) support[i] = colPtr[i + 1]! - colPtr[i]!;
    else for (let p = colPtr[i]!; p < colPtr[i + 1]!; p++) support[i]! += w[entries[p]!]!;
  }

  const counts = new Float64Array(m.nItems);
  const overlap = new Float64Array(m.nItems);
  const touched = new Int32Array(m.nItems);
  const sims = new Float64Array(m.nItems);
  const out = new RowsBuilder();
  const indptr = new Int32Array(m.nItems + 1);
  for (let i = 0; i < m.nItems; i++) {
    let nTouched = 0;
    for (let p = colPtr[i]!; p < colPtr[i + 1]!; p++) {
      const u = users[p]!;
      const wi = w ? w[entries[p]!]! : 1;
      for (let e = m.indptr[u]!; e < m.indptr[u + 1]!; e++) {
        const j = m.indices[e]!;
        if (counts[j] === 0) touched[nTouched++] = j;
        counts[j]! += 1;
        overlap[j]! += w ? Math.min(wi, w[e]!) : 1;
      }
    }
    let kept = 0;
    for (let t = 0; t < nTouched; t++) {
      const j = touched[t]!;
      const c = counts[j]!;
      const o = overlap[j]!;
      counts[j] = 0;
      overlap[j] = 0;
      if (c < threshold || (j === i && !includeSelf)) continue;
      sims[j] = similarityValue(opts.kind, o, support[i]!, support[j]!);
      touched[kept++] = j;
    }
    let row = touched.subarray(0, kept);
    if (topM > 0 && kept > topM) {
      row = Int32Array.from(row).sort((a, b) => sims[b]! - sims[a]! || a - b).subarray(0, topM);
    }
    row = Int32Array.from(row).sort();
    for (let t = 0; t < row.length; t++) out.push(row[t]!, sims[row[t]!]!);
    indptr[i + 1] = out.n;
  }
  return { n: m.nItems, indptr, indices: out.indices.slice(0, out.n), values: out.values.slice(0, out.n) };
}

/** s(i, j), or 0 when the pair is not stored. */
export function similarityAt(s: SparseRows, i: number, j: number): number {
  let lo = s.indptr[i]!;
  let hi = s.indptr[i + 1]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = s.indices[mid]!;
    if (v === j) return s.values[mid]!;
    if (v < j) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}

// Co-occurrence only depends on which (user, item) pairs exist, so models fitted on the same training
// data (SAR variants during tuning, item-kNN and SAR-cosine) share one similarity per setting.
const cache = new WeakMap<object, Map<string, SparseRows>>();

export function cachedItemSimilarity(key: object, m: UserItemMatrix, opts: SimilarityOptions): SparseRows {
  let byOpts = cache.get(key);
  if (!byOpts) cache.set(key, (byOpts = new Map()));
  if (opts.weights) return itemSimilarity(m, opts); // weights differ per fit: nothing to share
  const k = `${opts.kind}|${opts.threshold ?? 1}|${opts.topM ?? 0}|${opts.includeSelf ?? true}`;
  let s = byOpts.get(k);
  if (!s) byOpts.set(k, (s = itemSimilarity(m, opts)));
  return s;
}
