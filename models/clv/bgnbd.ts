// BG/NBD ("beta-geometric / negative binomial") model of repeat purchasing: Fader, Hardie & Lee (2005),
// "Counting your customers the easy way", Marketing Science 24(2). Time is in whatever unit the
// summary uses (weeks in cvm). Formulas follow the paper and Hardie's notes; the log-likelihood uses
// the log-sum-exp form (as the lifetimes package does) so it stays finite for large x and T.
import { logBeta, logGamma, scaledHyp2f1 } from './special.ts';
import { multiStart, type MultiStartResult } from './optimize.ts';
import { FitError } from './fit-error.ts';

export interface BgNbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

/** Calibration summary per customer: x repeat transactions, last at t_x, observed for T (same unit). */
export interface RfmArrays {
  x: Float64Array;
  tx: Float64Array;
  T: Float64Array;
  /** Optional count of customers each row stands for (see compressRfm). */
  w?: Float64Array;
}

/** Merge customers with identical (x, t_x, T) into weighted rows: day-level data repeats a lot. */
export function compressRfm(d: RfmArrays): RfmArrays & { w: Float64Array } {
  const pos = new Map<string, number>();
  const x: number[] = [];
  const tx: number[] = [];
  const T: number[] = [];
  const w: number[] = [];
  for (let i = 0; i < d.x.length; i++) {
    const key = `${d.x[i]}|${d.tx[i]}|${d.T[i]}`;
    const k = pos.get(key);
    const wi = d.w ? d.w[i]! : 1;
    if (k !== undefined) {
      w[k]! += wi;
      continue;
    }
    pos.set(key, x.length);
    x.push(d.x[i]!);
    tx.push(d.tx[i]!);
    T.push(d.T[i]!);
    w.push(wi);
  }
  return { x: Float64Array.from(x), tx: Float64Array.from(tx), T: Float64Array.from(T), w: Float64Array.from(w) };
}

/** Distinct frequencies, so the gamma-function terms are computed once per x value, not per customer. */
interface Grouped {
  values: Float64Array;
  index: Int32Array;
}
const groupedCache = new WeakMap<Float64Array, Grouped>();

export function groupByValue(x: Float64Array): Grouped {
  let g = groupedCache.get(x);
  if (g) return g;
  const pos = new Map<number, number>();
  const index = new Int32Array(x.length);
  const values: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    let k = pos.get(v);
    if (k === undefined) {
      k = values.length;
      pos.set(v, k);
      values.push(v);
    }
    index[i] = k;
  }
  g = { values: Float64Array.from(values), index };
  groupedCache.set(x, g);
  return g;
}

/**
 * Log-likelihood summed over customers:
 *   ln L_i = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x) − ln B(a, b)
 *          + logsumexp( −(r+x) ln(α+T),  [x>0] ln a − ln(b+x−1) − (r+x) ln(α+t_x) )
 */
export function bgnbdLogLik(p: BgNbdParams, d: RfmArrays): number {
  const { r, alpha, a, b } = p;
  if (!(r > 0 && alpha > 0 && a > 0 && b > 0)) return -Infinity;
  const g = groupByValue(d.x);
  const k = g.values.length;
  const head = new Float64Array(k);
  const tailA4 = new Float64Array(k);
  const lnAlpha = Math.log(alpha);
  const lgR = logGamma(r);
  const lbAB = logBeta(a, b);
  const lnA = Math.log(a);
  for (let j = 0; j < k; j++) {
    const x = g.values[j]!;
    head[j] = logGamma(r + x) - lgR + r * lnAlpha + logBeta(a, b + x) - lbAB;
    tailA4[j] = x > 0 ? lnA - Math.log(b + x - 1) : -Infinity;
  }
  let ll = 0;
  const n = d.x.length;
  const { x: xs, tx: txs, T: Ts, w } = d;
  const idx = g.index;
  for (let i = 0; i < n; i++) {
    const j = idx[i]!;
    const x = xs[i]!;
    const a3 = -(r + x) * Math.log(alpha + Ts[i]!);
    let li = head[j]!;
    if (x > 0) {
      // log(e^a3 + e^a4), inlined: this loop is the whole cost of a fit.
      const a4 = tailA4[j]! - (r + x) * Math.log(alpha + txs[i]!);
      li += a3 > a4 ? a3 + Math.log1p(Math.exp(a4 - a3)) : a4 + Math.log1p(Math.exp(a3 - a4));
    } else li += a3;
    ll += w ? w[i]! * li : li;
  }
  return ll;
}

/** P(customer still alive at T | x, t_x, T). */
export function pAlive(p: BgNbdParams, x: number, tx: number, T: number): number {
  if (x === 0) return 1;
  const { r, alpha, a, b } = p;
  const lnOdds = Math.log(a) - Math.log(b + x - 1) + (r + x) * (Math.log(alpha + T) - Math.log(alpha + tx));
  return 1 / (1 + Math.exp(lnOdds));
}

/** E[X(t)]: expected purchases in (0, t] of a customer just acquired (FHL 2005 eq. 9). */
export function expectedPurchases(p: BgNbdParams, t: number): number {
  const { r, alpha, a, b } = p;
  if (t <= 0) return 0;
  const z = t / (alpha + t);
  // (α/(α+t))^r ₂F₁(r, b; a+b−1; z) with α/(α+t) = 1 − z.
  const g = scaledHyp2f1(r, r, b, a + b - 1, z);
  return ((a + b - 1) / (a - 1)) * (1 - g);
}

/** E[Y(t) | x, t_x, T]: expected purchases in (T, T+t] given the calibration history (FHL 2005 eq. 10). */
export function conditionalExpectedPurchases(p: BgNbdParams, t: number, x: number, tx: number, T: number): number {
  const { r, alpha, a, b } = p;
  if (t <= 0) return 0;
  const z = t / (alpha + T + t);
  // ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z) with (α+T)/(α+T+t) = 1 − z.
  const g = scaledHyp2f1(r + x, r + x, b + x, a + b + x - 1, z);
  const numerator = ((a + b + x - 1) / (a - 1)) * (1 - g);
  if (x === 0) return numerator;
  const lnOdds = Math.log(a) - Math.log(b + x - 1) + (r + x) * (Math.log(alpha + T) - Math.log(alpha + tx));
  return numerator / (1 + Math.exp(lnOdds));
}

/** P(X(t) = n) for a just-acquired customer (FHL 2005 eq. 8). */
export function probabilityOfPurchases(p: BgNbdParams, t: number, n: number): number {
  const { r, alpha, a, b } = p;
  const lnQ = Math.log(alpha / (alpha + t));
  const lnZ = Math.log(t / (alpha + t));
  const lbAB = logBeta(a, b);
  const first = Math.exp(logBeta(a, b + n) - lbAB + logGamma(r + n) - logGamma(r) - logGamma(n + 1) + r * lnQ + (n > 0 ? n * lnZ : 0));
  if (n === 0) return first;
  let finite = 0;
  for (let j = 0; j < n; j++) finite += Math.exp(logGamma(r + j) - logGamma(r) - logGamma(j + 1) + (j > 0 ? j * lnZ : 0));
  const second = Math.exp(logBeta(a + 1, b + n - 1) - lbAB) * (1 - Math.exp(r * lnQ) * finite);
  return first + second;
}

export interface BgNbdFit {
  params: BgNbdParams;
  logLik: number;
  customers: number;
  startsConverged: number;
  startsTried: number;
  evaluations: number;
}

/** Starting points spread over the plausible range, scaled to the data so α starts near r·T/x. */
export function bgnbdStarts(d: RfmArrays): number[][] {
  let sx = 0;
  let sT = 0;
  for (let i = 0; i < d.x.length; i++) {
    const w = d.w ? d.w[i]! : 1;
    sx += w * d.x[i]!;
    sT += w * d.T[i]!;
  }
  const rate = Math.max(sx, 1) / Math.max(sT, 1e-9); // purchases per time unit, all customers pooled
  const out: number[][] = [];
  for (const r of [0.3, 1.5]) {
    for (const [a, b] of [[1, 2], [0.5, 5], [3, 3]] as const) {
      out.push([Math.log(r), Math.log(r / rate), Math.log(a), Math.log(b)]);
    }
  }
  return out;
}

/** Maximum-likelihood fit by multi-start Nelder-Mead in log-parameter space. */
export function fitBgNbd(data: RfmArrays, starts: number[][] = bgnbdStarts(data)): BgNbdFit {
  const d = compressRfm(data);
  let n = 0;
  for (let i = 0; i < d.w.length; i++) n += d.w[i]!;
  if (n === 0) throw new FitError('BG/NBD: no customers to fit');
  const toParams = (v: number[]): BgNbdParams => ({ r: Math.exp(v[0]!), alpha: Math.exp(v[1]!), a: Math.exp(v[2]!), b: Math.exp(v[3]!) });
  // Mean negative log-likelihood keeps the tolerances independent of the number of customers.
  const objective = (v: number[]) => -bgnbdLogLik(toParams(v), d) / n;
  const res: MultiStartResult | null = multiStart(objective, starts);
  if (!res) {
    throw new FitError(
      `BG/NBD fit did not converge from any of ${starts.length} starting points (${n} customers); ` +
        'the data may have too few repeat purchases or a degenerate calibration period',
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
