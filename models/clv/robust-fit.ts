// CLV fits that always answer, and say how. A new shop (tens of customers, a handful of repeat buyers)
// often has its unpenalised maximum on a boundary (a parameter running off to 0 or ∞) or no optimum the
// optimiser can confirm. As lifetimes' `penalizer_coef` and CLVTools' regularisation do, such data is
// fitted with a small L2 penalty on the log-parameters, pulling them towards a neutral centre scaled to
// the data; the smallest penalty on a ladder that converges is used, and the run is flagged. Data that
// the plain fit handles is fitted without any penalty, so the published CDNOW figures still hold.
import { bgnbdLogLik, compressRfm, fitBgNbd, type BgNbdFit, type BgNbdParams, type RfmArrays } from './bgnbd.ts';
import { fitGammaGamma, gammaGammaLogLik, type GammaGammaFit, type GammaGammaParams, type SpendArrays } from './gamma-gamma.ts';
import { multiStart, nelderMead } from './optimize.ts';
import { FitError } from './fit-error.ts';

/** Below this many repeat buyers a plain fit is noise: the penalised fit is used and the run says so. */
export const MIN_REPEAT_BUYERS = 20;

/** Penalty coefficients tried in turn (on the mean negative log-likelihood per customer). */
export const PENALTY_LADDER = [0.001, 0.01, 0.1, 1];

export interface FitReport {
  mode: 'plain' | 'penalised' | 'prior';
  /** The L2 coefficient used (0 for a plain fit). */
  penalty: number;
  /** Why the plain fit was not used; null for a plain fit. */
  reason: string | null;
}

export type RobustBgNbdFit = BgNbdFit & { fit: FitReport };
export type RobustGammaGammaFit = GammaGammaFit & { fit: FitReport };

const PLAIN: FitReport = { mode: 'plain', penalty: 0, reason: null };

function totalWeight(w: Float64Array): number {
  let n = 0;
  for (let i = 0; i < w.length; i++) n += w[i]!;
  return n;
}

function l2(v: number[], centre: number[]): number {
  let s = 0;
  for (let k = 0; k < v.length; k++) s += (v[k]! - centre[k]!) ** 2;
  return s;
}

/** Minimises objective + λ·|v − centre|² up the ladder; the first λ that converges wins. */
function penalisedMinimum(
  objective: (v: number[]) => number,
  centre: number[],
  starts: number[][],
): { x: number[]; f: number; penalty: number; converged: boolean; evaluations: number; startsTried: number; startsConverged: number } {
  let evaluations = 0;
  for (const penalty of PENALTY_LADDER) {
    const res = multiStart((v) => objective(v) + penalty * l2(v, centre), [centre, ...starts]);
    if (res) {
      evaluations += res.evaluations;
      return { x: res.x, f: objective(res.x), penalty, converged: true, evaluations, startsTried: res.runs.length, startsConverged: res.startsConverged };
    }
  }
  // Even the strongest penalty did not converge (should not happen: the objective is then close to a bowl).
  const last = PENALTY_LADDER[PENALTY_LADDER.length - 1]!;
  const nm = nelderMead((v) => objective(v) + last * l2(v, centre), centre);
  return { x: nm.x, f: objective(nm.x), penalty: last, converged: nm.converged, evaluations: evaluations + nm.evaluations, startsTried: 1, startsConverged: nm.converged ? 1 : 0 };
}

/** The penalised fit in the shape of a plain one; at the centre (flagged 'prior') if nothing converged. */
function penalisedFit<P>(objective: (v: number[]) => number, centre: number[], starts: number[][], n: number, reason: string, toParams: (v: number[]) => P) {
  const m = penalisedMinimum(objective, centre, starts);
  const x = m.converged ? m.x : centre;
  const fit: FitReport = { mode: m.converged ? 'penalised' : 'prior', penalty: m.penalty, reason };
  return { params: toParams(x), logLik: -objective(x) * n, customers: n, startsConverged: m.startsConverged, startsTried: m.startsTried, evaluations: m.evaluations, fit };
}

/** Repeat buyers (x > 0) among the customers the rows stand for. */
function repeatBuyerCount(d: RfmArrays): number {
  let n = 0;
  for (let i = 0; i < d.x.length; i++) if (d.x[i]! > 0) n += d.w ? d.w[i]! : 1;
  return n;
}

/**
 * BG/NBD: the plain maximum-likelihood fit when it converges on enough repeat buyers, else the penalised
 * one. Centre: r = 1, α = 1 / pooled purchase rate (so r/α matches the data), a = 2, b = 6 (a mean
 * drop-out chance of 1/4 after each purchase, away from the a = 1 singularity of E[X(t)]).
 * Throws FitError only when there is truly nothing to fit: no customer bought twice.
 */
export function fitBgNbdRobust(data: RfmArrays): RobustBgNbdFit {
  const repeaters = repeatBuyerCount(data);
  if (repeaters === 0) {
    throw new FitError(`BG/NBD: no repeat buyers at all among ${data.x.length} customers; CLV needs at least one customer who bought on two days`);
  }
  let reason: string;
  if (repeaters >= MIN_REPEAT_BUYERS) {
    try {
      return { ...fitBgNbd(data), fit: PLAIN };
    } catch (err) {
      if (!(err instanceof FitError)) throw err;
      reason = err.message;
    }
  } else reason = `only ${repeaters} repeat buyers (a plain fit needs ${MIN_REPEAT_BUYERS})`;

  const d = compressRfm(data);
  const n = totalWeight(d.w);
  let sx = 0;
  let sT = 0;
  for (let i = 0; i < d.x.length; i++) {
    sx += d.w[i]! * d.x[i]!;
    sT += d.w[i]! * d.T[i]!;
  }
  const rate = Math.max(sx, 1) / Math.max(sT, 1e-9);
  const centre = [0, Math.log(1 / rate), Math.log(2), Math.log(6)];
  const starts = [0.3, 1.5].map((r) => [Math.log(r), Math.log(r / rate), Math.log(1), Math.log(3)]);
  const toParams = (v: number[]): BgNbdParams => ({ r: Math.exp(v[0]!), alpha: Math.exp(v[1]!), a: Math.exp(v[2]!), b: Math.exp(v[3]!) });
  const objective = (v: number[]) => -bgnbdLogLik(toParams(v), d) / n;
  return penalisedFit(objective, centre, starts, n, reason, toParams);
}

/**
 * Gamma-Gamma: plain fit when it converges on enough repeat buyers with a finite population mean
 * (q > 1), else penalised in a parametrisation that keeps q > 1 (q = 1 + e^v). Centre: p = 1, q = 3,
 * γ = 2·mean spend, i.e. a population mean pγ/(q−1) equal to the observed mean.
 */
export function fitGammaGammaRobust(data: SpendArrays): RobustGammaGammaFit {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < data.x.length; i++) {
    const w = data.w ? data.w[i]! : 1;
    n += w;
    sum += w * data.m[i]!;
  }
  if (n === 0) throw new FitError('Gamma-Gamma: no repeat buyers with a positive spend; CLV needs at least one');
  let reason: string;
  if (n >= MIN_REPEAT_BUYERS) {
    try {
      const plain = fitGammaGamma(data);
      if (plain.params.q > 1) return { ...plain, fit: PLAIN };
      reason = `plain fit has q = ${plain.params.q.toFixed(3)} <= 1 (infinite population mean spend)`;
    } catch (err) {
      if (!(err instanceof FitError)) throw err;
      reason = err.message;
    }
  } else reason = `only ${n} repeat buyers with a positive spend (a plain fit needs ${MIN_REPEAT_BUYERS})`;

  const mean = sum / n;
  const centre = [0, Math.log(2), Math.log(2 * mean)];
  const starts: number[][] = [];
  for (const p of [0.5, 4]) for (const q of [1.5, 4]) starts.push([Math.log(p), Math.log(q - 1), Math.log((mean * (q - 1)) / p)]);
  const toParams = (v: number[]): GammaGammaParams => ({ p: Math.exp(v[0]!), q: 1 + Math.exp(v[1]!), gamma: Math.exp(v[2]!) });
  const objective = (v: number[]) => -gammaGammaLogLik(toParams(v), data) / n;
  return penalisedFit(objective, centre, starts, n, reason, toParams);
}
