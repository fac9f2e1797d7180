// Hand-checked outputs of each recommender on a 4-user × 4-item matrix.
//   u1: A B      co-occurrence (users having both):
//   u2: A B C      c_AA=2 c_BB=3 c_CC=3 c_DD=1
//   u3:   B C      c_AB=2 c_AC=1 c_BC=2 c_CD=1 c_AD=0 c_BD=0
//   u4:     C D
import { describe, expect, it } from 'vitest';
import { fromRows, type Interactions } from '../models/recs/interactions.ts';
import { buildUserItem } from '../models/recs/matrix.ts';
import { topK } from '../models/recs/model.ts';
import { MostPopular } from '../models/recs/most-popular.ts';
import { ItemKnn } from '../models/recs/item-knn.ts';
import { Sar } from '../models/recs/sar.ts';
import { Bpr } from '../models/recs/bpr.ts';
import { itemSimilarity, similarityAt } from '../models/recs/similarity.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2024, 0, 31);

function matrix(extra: Array<readonly [string, string, number, number?]> = []): Interactions {
  return fromRows([
    ['u1', 'A', NOW - DAY],
    ['u1', 'B', NOW - DAY],
    ['u2', 'A', NOW - DAY],
    ['u2', 'B', NOW - DAY],
    ['u2', 'C', NOW - DAY],
    ['u3', 'B', NOW - DAY],
    ['u3', 'C', NOW - DAY],
    ['u4', 'C', NOW - DAY],
    ['u4', 'D', NOW - DAY],
    ...extra,
  ]);
}

function ids(data: Interactions, items: Int32Array): string[] {
  return [...items].map((i) => data.items.ids[i]!);
}

/** The model's top-k for a user, seen items excluded (as the evaluation does). */
function recommend(model: { score(u: number, out: Float32Array): void }, data: Interactions, user: string, k = 4): { items: string[]; scores: Map<string, number> } {
  const u = data.users.get(user)!;
  const scores = new Float32Array(data.items.size);
  model.score(u, scores);
  const m = buildUserItem(data);
  const excluded = new Uint8Array(data.items.size);
  for (let e = m.indptr[u]!; e < m.indptr[u + 1]!; e++) excluded[m.indices[e]!] = 1;
  const top = topK(scores, k, excluded);
  return { items: ids(data, top), scores: new Map(data.items.ids.map((id, i) => [id, scores[i]!])) };
}

describe('item similarity', () => {
  const data = matrix();
  const m = buildUserItem(data);
  const [A, B, C, D] = ['A', 'B', 'C', 'D'].map((x) => data.items.get(x)!) as [number, number, number, number];

  it('jaccard = c_ij / (c_ii + c_jj − c_ij)', () => {
    const s = itemSimilarity(m, { kind: 'jaccard' });
    expect(similarityAt(s, A, B)).toBeCloseTo(2 / 3, 6);
    expect(similarityAt(s, A, C)).toBeCloseTo(1 / 4, 6);
    expect(similarityAt(s, B, C)).toBeCloseTo(1 / 2, 6);
    expect(similarityAt(s, C, D)).toBeCloseTo(1 / 3, 6);
    expect(similarityAt(s, A, D)).toBe(0);
    expect(similarityAt(s, A, A)).toBeCloseTo(1, 6); // SAR keeps the diagonal
  });

  it('cosine and lift', () => {
    const cos = itemSimilarity(m, { kind: 'cosine' });
    expect(similarityAt(cos, A, B)).toBeCloseTo(2 / Math.sqrt(6), 6);
    expect(similarityAt(cos, B, C)).toBeCloseTo(2 / 3, 6);
    const lift = itemSimilarity(m, { kind: 'lift' });
    expect(similarityAt(lift, A, B)).toBeCloseTo(2 / 6, 6);
    expect(similarityAt(lift, C, D)).toBeCloseTo(1 / 3, 6);
  });

  it('threshold drops pairs seen by too few users; topM keeps the strongest', () => {
    const s = itemSimilarity(m, { kind: 'jaccard', threshold: 2 });
    expect(similarityAt(s, A, C)).toBe(0); // c_AC = 1
    expect(similarityAt(s, A, B)).toBeCloseTo(2 / 3, 6);
    const top1 = itemSimilarity(m, { kind: 'jaccard', topM: 1, includeSelf: false });
    expect(top1.indptr[B + 1]! - top1.indptr[B]!).toBe(1);
    expect(similarityAt(top1, B, A)).toBeCloseTo(2 / 3, 6); // B's best neighbour (A 2/3 > C 1/2)
  });

  it('weighted jaccard = Σ min(w) / (Σ w_i + Σ w_j − Σ min(w))', () => {
    // u1 has A with weight 3 and B with weight 1; u2 has A 1, B 2.
    const d = fromRows([['u1', 'A', NOW, 3], ['u1', 'B', NOW, 1], ['u2', 'A', NOW, 1], ['u2', 'B', NOW, 2]]);
    const mm = buildUserItem(d);
    const s = itemSimilarity(mm, { kind: 'jaccard', weights: mm.affinity });
    // overlap = min(3,1) + min(1,2) = 2; support A = 4, B = 3 → 2 / (4 + 3 − 2) = 0.4
    expect(similarityAt(s, d.items.get('A')!, d.items.get('B')!)).toBeCloseTo(0.4, 6);
  });
});

describe('most-popular', () => {
  it('ranks unseen items by the number of distinct users', () => {
    const data = matrix([['u3', 'C', NOW]]); // a repeat does not count twice
    const model = new MostPopular();
    model.fit(data);
    const r = recommend(model, data, 'u1');
    expect(r.items).toEqual(['C', 'D']);
    expect(r.scores.get('C')).toBe(3);
    expect(r.scores.get('D')).toBe(1);
  });
});

describe('item-knn (cosine, all neighbours)', () => {
  it('scores = sum of cosine similarities to the user items', () => {
    const data = matrix();
    const model = new ItemKnn();
    model.fit(data);
    const u1 = recommend(model, data, 'u1');
    expect(u1.items).toEqual(['C', 'D']);
    expect(u1.scores.get('C')).toBeCloseTo(1 / Math.sqrt(6) + 2 / 3, 5); // cos(A,C) + cos(B,C)
    expect(u1.scores.get('D')).toBe(0);
    const u4 = recommend(model, data, 'u4');
    expect(u4.items).toEqual(['B', 'A']);
    expect(u4.scores.get('B')).toBeCloseTo(2 / 3, 5);
    expect(u4.scores.get('A')).toBeCloseTo(1 / Math.sqrt(6), 5);
  });
});

describe('SAR', () => {
  it('score = Σ affinity × jaccard, affinity counting every interaction (no decay)', () => {
    const data = matrix([['u1', 'A', NOW - DAY]]); // u1 has A twice → affinity 2
    const model = new Sar({ halfLifeDays: 0 });
    model.fit(data, { now: NOW });
    const r = recommend(model, data, 'u1');
    expect(r.items).toEqual(['C', 'D']);
    expect(r.scores.get('C')).toBeCloseTo(2 * (1 / 4) + 1 * (1 / 2), 5); // a_A·J(A,C) + a_B·J(B,C)
  });

  it('decays affinity with the half-life, so recent interests lead', () => {
    // u5 had A 60 days ago (weight 0.25 at a 30-day half-life) and D today (weight 1).
    const data = matrix([['u5', 'A', NOW - 60 * DAY], ['u5', 'D', NOW]]);
    const m = buildUserItem(data, { halfLifeMs: 30 * DAY, now: NOW });
    const u5 = data.users.get('u5')!;
    const aff = new Map<string, number>();
    for (let e = m.indptr[u5]!; e < m.indptr[u5 + 1]!; e++) aff.set(data.items.ids[m.indices[e]!]!, m.affinity[e]!);
    expect(aff.get('A')).toBeCloseTo(0.25, 6);
    expect(aff.get('D')).toBeCloseTo(1, 6);
    const model = new Sar({ halfLifeDays: 30 });
    model.fit(data, { now: NOW });
    const r = recommend(model, data, 'u5');
    // Co-occurrence now: c_AA=3, c_DD=2, c_CC=3, c_BB=3, c_AB=2, c_AC=1, c_CD=1, c_AD=1.
    // C: 0.25·J(A,C)=0.25·1/5 + 1·J(D,C)=1/(3+2−1) → 0.05 + 0.25 = 0.30
    // B: 0.25·J(A,B)=0.25·2/4 = 0.125
    expect(r.items).toEqual(['C', 'B']);
    expect(r.scores.get('C')).toBeCloseTo(0.05 + 0.25, 5);
    expect(r.scores.get('B')).toBeCloseTo(0.125, 5);
    // Without decay A weighs as much as D and B's score grows: 1·2/4 = 0.5 against C: 1/5 + 1/4 = 0.45.
    const flat = new Sar({ halfLifeDays: 0 });
    flat.fit(data, { now: NOW });
    expect(recommend(flat, data, 'u5').items).toEqual(['B', 'C']);
  });

  it('binary affinity and the trending blend', () => {
    const data = matrix([['u1', 'A', NOW - DAY], ['u1', 'A', NOW - DAY]]);
    const model = new Sar({ halfLifeDays: 0, affinity: 'binary' });
    model.fit(data, { now: NOW });
    // affinity 1 per item however often it was bought: C = J(A,C) + J(B,C) = 0.75
    expect(recommend(model, data, 'u1').scores.get('C')).toBeCloseTo(0.75, 5);
    // Trend (no decay at a huge half-life): distinct users per item, A2 B3 C3 D1 → max 3.
    const blended = new Sar({ halfLifeDays: 0, affinity: 'binary', trendWeight: 0.5, trendHalfLifeDays: 1e6 });
    blended.fit(data, { now: NOW });
    const r = recommend(blended, data, 'u1');
    // SAR part scaled by the user's top score (A or B: 1 + 2/3 = 5/3), trend by 0.5/3.
    expect(r.scores.get('C')).toBeCloseTo(0.75 / (5 / 3) + (0.5 * 3) / 3, 4);
    expect(r.scores.get('D')).toBeCloseTo(0 + (0.5 * 1) / 3, 4);
  });
});

describe('topK', () => {
  it('skips excluded items and breaks ties by the tie-break, then the index', () => {
    const scores = [0.5, 0.9, 0.5, 0.1, 0.5];
    expect([...topK(scores, 3)]).toEqual([1, 0, 2]);
    expect([...topK(scores, 3, Uint8Array.from([0, 1, 0, 0, 0]))]).toEqual([0, 2, 4]);
    expect([...topK(scores, 3, undefined, [0, 0, 1, 0, 2])]).toEqual([1, 4, 2]);
    expect([...topK(scores, 10)]).toHaveLength(5);
  });
});

describe('BPR', () => {
  it('learns two taste groups: a held-out in-group item ranks above the other group', () => {
    const rows: Array<[string, string, number]> = [];
    for (let u = 0; u < 30; u++) {
      const g = u % 2;
      for (let k = 0; k < 5; k++) if (!(u === 0 && k === 4)) rows.push([`u${u}`, `g${g}-i${k}`, NOW]);
    }
    const data = fromRows(rows);
    const model = new Bpr({ factors: 8, epochs: 60, learningRate: 0.05, seed: 3 });
    model.fit(data);
    const r = recommend(model, data, 'u0', 1);
    expect(r.items).toEqual(['g0-i4']);
    const other = [0, 1, 2, 3, 4].map((k) => r.scores.get(`g1-i${k}`)!);
    expect(Math.max(...other)).toBeLessThan(r.scores.get('g0-i4')!);
  });
});
