// Gamma-Gamma model of average transaction value: Fader & Hardie (2013), "The Gamma-Gamma model of
// monetary value" (brucehardie.com note 025), after Colombo & Jiang (1999). Spend per transaction
// z ~ Gamma(p, ν), ν ~ Gamma(q, γ) across customers; fitted on repeat buyers only (x > 0, zbar > 0).
import { logGamma } from './special.ts';
import { multiStart } from './optimize.ts';
import { groupByValue } from './bgnbd.ts';
import { FitError } from './fit-error.ts';

export interface GammaGammaParams {
  p: number;
  q: number;
  gamma: number;
}

/** Repeat buyers: x repeat transactions with mean value m. */
export interface SpendArrays {
  x: Float64Array;
  m: Float64Array;
  /** Optional count of customers each row stands for. */
  w?: Float64Array;
}

function compressSpend(d: SpendArrays): SpendArrays & { w: Float64Array } {
  const pos = new Map<string, number>();
  const x: number[] = [];
  const m: number[] = [];
  const w: number[] = [];
  for (let i = 0; i < d.x.length; i++) {
    const key = `${d.x[i]}|${d.m[i]}`;
    const k = pos.get(key);
    const wi = d.w ? d.w[i]! : 1;
    if (k !== undefined) {
      w[k]! += wi;
      continue;
    }
    pos.set(key, x.length);
    x.push(d.x[i]!);
    m.push(d.m[i]!);
    w.push(wi);
  }
  return { x: Float64Array.from(x), m: Float64Array.from(m), w: Float64Array.from(w) };
}

/**
 * ln L_i = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m + px ln x − (px+q) ln(xm + γ)
 * (the density of the customer's mean spend over x transactions, as in Hardie's note and lifetimes).
 */
export function gammaGammaLogLik(params: GammaGammaParams, d: SpendArrays): number {
  const { p, q, gamma } = params;
  if (!(p > 0 && q > 0 && gamma > 0)) return -Infinity;
  const g = groupByValue(d.x);
  const k = g.values.length;
  const lg = new Float64Array(k);
  const lgQ = logGamma(q);
  for (let j = 0; j < k; j++) {
    const px = p * g.values[j]!;
    lg[j] = logGamma(px + q) - logGamma(px) - lgQ + px * Math.log(g.values[j]!);
  }
  const qLnG = q * Math.log(gamma);
  let ll = 0;
  for (let i = 0; i < d.x.length; i++) {
    const x = d.x[i]!;
    const m = d.m[i]!;
    const px = p * x;
    const li = lg[g.index[i]!]! + qLnG + (px - 1) * Math.log(m) - (px + q) * Math.log(x * m + gamma);
    ll += d.w ? d.w[i]! * li : li;
  }
  return ll;
}

/** E[M | x, zbar]: a weighted mean of the population mean pγ/(q−1) and the customer's own zbar. */
export function conditionalExpectedSpend(params: GammaGammaParams, x: number, zbar: number): number {
  const { p, q, gamma } = params;
  const weight = (p * x) / (p * x + q - 1);
  const population = (p * gamma) / (q - 1);
  return (1 - weight) * population + weight * (x > 0 ? zbar : 0);
}

export interface GammaGammaFit {
  params: GammaGammaParams;
  logLik: number;
  customers: number;
  startsConverged: number;
  startsTried: number;
  evaluations: number;
}

/**
 * Starts over p ∈ {0.5, 2, 8, 30} × q ∈ {1.5, 4}, with γ set so the implied mean pγ/(q−1) equals the
 * observed mean spend. NOTE: the likelihood has a ridge towards p, q, γ → ∞ along which it rises
 * slowly; a single start often walks up it and stops on a flat, wrong spot, so several are needed.
 */
export function gammaGammaStarts(d: SpendArrays): number[][] {
  let s = 0;
  let n = 0;
  for (let i = 0; i < d.m.length; i++) {
    const w = d.w ? d.w[i]! : 1;
    s += w * d.m[i]!;
    n += w;
  }
  const mean = s / Math.max(n, 1);
  const out: number[][] = [];
  for (const p of [0.5, 2, 8, 30]) {
    for (const q of [1.5, 4]) out.push([Math.log(p), Math.log(q), Math.log((mean * (q - 1)) / p)]);
  }
  return out;
}

/** Only customers with x > 0 and a positive mean spend carry information for this model. */
export function repeatBuyers(x: Float64Array, zbar: Float64Array): SpendArrays & { index: Int32Array } {
  const idx: number[] = [];
  for (let i = 0; i < x.length; i++) if (x[i]! > 0 && zbar[i]! > 0) idx.push(i);
  return {
    x: Float64Array.from(idx, (i) => x[i]!),
    m: Float64Array.from(idx, (i) => zbar[i]!),
    index: Int32Array.from(idx),
  };
}

export function fitGammaGamma(data: SpendArrays, starts: number[][] = gammaGammaStarts(data)): GammaGammaFit {
  const d = compressSpend(data);
  let n = 0;
  for (let i = 0; i < d.w.length; i++) n += d.w[i]!;
  if (n === 0) throw new FitError('Gamma-Gamma: no repeat buyers with a positive spend to fit');
  const toParams = (v: number[]): GammaGammaParams => ({ p: Math.exp(v[0]!), q: Math.exp(v[1]!), gamma: Math.exp(v[2]!) });
  const objective = (v: number[]) => -gammaGammaLogLik(toParams(v), d) / n;
  const res = multiStart(objective, starts);
  if (!res) {
    throw new FitError(
      `Gamma-Gamma fit did not converge from any of ${starts.length} starting points (${n} repeat buyers); ` +
        'spend may be (nearly) constant across customers, which the model cannot separate',
    );
  }
  return {
    params: toParams(res.x),
    logLik: -res.f * n,
    customers: n,
    startsConverged: res.startsConverged,
    startsTried: res.runs.length,
    evaluations: res.evaluations,
  };
}
