// BPR matrix factorisation (Rendle et al. 2009) trained by SGD on (user, bought item, random other
// item) triples over the binary user×item matrix. Plain typed arrays: at a few hundred thousand pairs
// an epoch takes well under a second, faster than shipping mini-batches to tfjs.
import type { Interactions } from './interactions.ts';
import { buildUserItem, type UserItemMatrix } from './matrix.ts';
import type { Recommender } from './model.ts';
import { rng } from './splits.ts';

export interface BprParams {
  factors: number;
  epochs: number;
  learningRate: number;
  regularisation: number;
  seed: number;
}

export const BPR_DEFAULTS: BprParams = { factors: 64, epochs: 40, learningRate: 0.05, regularisation: 0.005, seed: 7 };

export class Bpr implements Recommender {
  readonly name: string;
  readonly p: BprParams;
  private m: UserItemMatrix | null = null;
  private U = new Float32Array(0);
  private V = new Float32Array(0);
  private bias = new Float32Array(0);

  constructor(params: Partial<BprParams> = {}, name = 'bpr') {
    this.p = { ...BPR_DEFAULTS, ...params };
    this.name = name;
  }

  fit(train: Interactions): void {
    const m = buildUserItem(train);
    this.m = m;
    const f = this.p.factors;
    const random = rng(this.p.seed);
    const init = (n: number) => Float32Array.from({ length: n }, () => (random() - 0.5) * 0.1);
    const U = (this.U = init(m.nUsers * f));
    const V = (this.V = init(m.nItems * f));
    const bias = (this.bias = new Float32Array(m.nItems));
    // Users of each stored pair, so a sample is a uniform draw over pairs.
    const pairUser = new Int32Array(m.indices.length);
    for (let u = 0; u < m.nUsers; u++) for (let e = m.indptr[u]!; e < m.indptr[u + 1]!; e++) pairUser[e] = u;
    const trainItems: number[] = [];
    const seen = new Uint8Array(m.nItems);
    for (let e = 0; e < m.indices.length; e++) if (!seen[m.indices[e]!]) { seen[m.indices[e]!] = 1; trainItems.push(m.indices[e]!); }
    const has = (u: number, j: number) => {
      let lo = m.indptr[u]!;
      let hi = m.indptr[u + 1]! - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const v = m.indices[mid]!;
        if (v === j) return true;
        if (v < j) lo = mid + 1;
        else hi = mid - 1;
      }
      return false;
    };
    const { learningRate: lr, regularisation: reg } = this.p;
    const nPairs = m.indices.length;
    for (let epoch = 0; epoch < this.p.epochs; epoch++) {
      for (let s = 0; s < nPairs; s++) {
        const e = Math.floor(random() * nPairs);
        const u = pairUser[e]!;
        const i = m.indices[e]!;
        let j = trainItems[Math.floor(random() * trainItems.length)]!;
        for (let tries = 0; tries < 10 && has(u, j); tries++) j = trainItems[Math.floor(random() * trainItems.length)]!;
        const uo = u * f, io = i * f, jo = j * f;
        let x = bias[i]! - bias[j]!;
        for (let d = 0; d < f; d++) x += U[uo + d]! * (V[io + d]! - V[jo + d]!);
        const g = 1 / (1 + Math.exp(x)); // d/dx ln σ(x)
        bias[i]! += lr * (g - reg * bias[i]!);
        bias[j]! += lr * (-g - reg * bias[j]!);
        for (let d = 0; d < f; d++) {
          const uu = U[uo + d]!, vi = V[io + d]!, vj = V[jo + d]!;
          U[uo + d] = uu + lr * (g * (vi - vj) - reg * uu);
          V[io + d] = vi + lr * (g * uu - reg * vi);
          V[jo + d] = vj + lr * (-g * uu - reg * vj);
        }
      }
    }
  }

  score(user: number, out: Float32Array): void {
    const m = this.m;
    if (!m || user >= m.nUsers || m.indptr[user + 1] === m.indptr[user]) return;
    const f = this.p.factors;
    const uo = user * f;
    for (let j = 0; j < m.nItems; j++) {
      let x = this.bias[j]!;
      const jo = j * f;
      for (let d = 0; d < f; d++) x += this.U[uo + d]! * this.V[jo + d]!;
      out[j]! += x;
    }
  }

  params(): Record<string, unknown> {
    return { ...this.p };
  }
}
