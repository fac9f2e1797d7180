// The user×item matrix in compressed sparse rows, aggregated from interaction rows: per (user, item)
// the number of events, the summed strength, the time-decayed strength and the last time. Models
// read whichever value they need; all of them share one pass over the data.
import type { Interactions } from './interactions.ts';

export interface UserItemMatrix {
  nUsers: number;
  nItems: number;
  /** Entries of user u are indptr[u] .. indptr[u+1]-1, items ascending. */
  indptr: Int32Array;
  indices: Int32Array;
  count: Float32Array;
  weight: Float32Array;
  /** Σ weight · 0.5^((now − ts) / halfLife); equals weight when there is no half-life. */
  affinity: Float32Array;
  lastTs: Float64Array;
}

export interface DecayOptions {
  /** Half-life of an interaction's strength in milliseconds; 0 or undefined means no decay. */
  halfLifeMs?: number;
  /** Reference time for the decay (defaults to the latest interaction). */
  now?: number;
}

export function decayFactor(ageMs: number, halfLifeMs: number | undefined): number {
  if (!halfLifeMs || halfLifeMs <= 0) return 1;
  return Math.pow(0.5, Math.max(0, ageMs) / halfLifeMs);
}

export function buildUserItem(data: Interactions, opts: DecayOptions = {}): UserItemMatrix {
  const nUsers = data.users.size;
  const nItems = data.items.size;
  let now = opts.now ?? -Infinity;
  if (opts.now === undefined) for (let k = 0; k < data.length; k++) if (data.ts[k]! > now) now = data.ts[k]!;

  // Bucket rows by user (counting sort), then order each user's rows by item to fold duplicates.
  const perUser = new Int32Array(nUsers + 1);
  for (let k = 0; k < data.length; k++) perUser[data.user[k]! + 1]!++;
  for (let u = 0; u < nUsers; u++) perUser[u + 1]! += perUser[u]!;
  const order = new Int32Array(data.length);
  const fill = perUser.slice(0, nUsers);
  for (let k = 0; k < data.length; k++) order[fill[data.user[k]!]!++] = k;

  const indptr = new Int32Array(nUsers + 1);
  const indices = new Int32Array(data.length);
  const count = new Float32Array(data.length);
  const weight = new Float32Array(data.length);
  const affinity = new Float32Array(data.length);
  const lastTs = new Float64Array(data.length);
  let nnz = 0;
  for (let u = 0; u < nUsers; u++) {
    const slice = order.subarray(perUser[u]!, perUser[u + 1]!);
    slice.sort((a, b) => data.item[a]! - data.item[b]!);
    let prev = -1;
    for (let s = 0; s < slice.length; s++) {
      const k = slice[s]!;
      const it = data.item[k]!;
      if (it !== prev) {
        indices[nnz] = it;
        lastTs[nnz] = -Infinity;
        nnz++;
        prev = it;
      }
      const e = nnz - 1;
      const w = data.weight[k]!;
      count[e]! += 1;
      weight[e]! += w;
      affinity[e]! += w * decayFactor(now - data.ts[k]!, opts.halfLifeMs);
      if (data.ts[k]! > lastTs[e]!) lastTs[e] = data.ts[k]!;
    }
    indptr[u + 1] = nnz;
  }
  return {
    nUsers,
    nItems,
    indptr,
    indices: indices.slice(0, nnz),
    count: count.slice(0, nnz),
    weight: weight.slice(0, nnz),
    affinity: affinity.slice(0, nnz),
    lastTs: lastTs.slice(0, nnz),
  };
}

/** Item → users (the transpose's structure; `entries` points back into the row arrays). */
export function itemUsers(m: UserItemMatrix): { indptr: Int32Array; users: Int32Array; entries: Int32Array } {
  const indptr = new Int32Array(m.nItems + 1);
  for (let e = 0; e < m.indices.length; e++) indptr[m.indices[e]! + 1]!++;
  for (let i = 0; i < m.nItems; i++) indptr[i + 1]! += indptr[i]!;
  const users = new Int32Array(m.indices.length);
  const entries = new Int32Array(m.indices.length);
  const fill = indptr.slice(0, m.nItems);
  for (let u = 0; u < m.nUsers; u++) {
    for (let e = m.indptr[u]!; e < m.indptr[u + 1]!; e++) {
      const slot = fill[m.indices[e]!]!++;
      users[slot] = u;
      entries[slot] = e;
    }
  }
  return { indptr, users, entries };
}

/** Number of distinct users per item (the item's support). */
export function itemSupport(m: UserItemMatrix): Float64Array {
  const out = new Float64Array(m.nItems);
  for (let e = 0; e < m.indices.length; e++) out[m.indices[e]!]! += 1;
  return out;
}

/** Items the user has in the matrix, as a set of indices. */
export function userItems(m: UserItemMatrix, u: number): Int32Array {
  if (u < 0 || u >= m.nUsers) return new Int32Array(0);
  return m.indices.subarray(m.indptr[u]!, m.indptr[u + 1]!);
}
