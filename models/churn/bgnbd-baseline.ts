// The BG/NBD baseline for churn: fit on the calibration summary (models/clv/bgnbd.ts) and read churn as
// 1 − P(alive), or as the probability of no purchase at all in the horizon, which is what the churn label
// actually asks. Time is in weeks, as in the rest of cvm's BG/NBD code.
import { fitBgNbd, pAlive, type BgNbdFit, type BgNbdParams } from '../clv/bgnbd.ts';
import type { RawFeatures } from './features.ts';

export type { BgNbdParams };

/** The small interface churn needs from BG/NBD. */
export type PAliveFn = (x: number, t_x: number, T: number, params: BgNbdParams) => number;
export const bgnbdPAlive: PAliveFn = (x, tx, T, params) => pAlive(params, x, tx, T);

const WEEK = 7;

export interface Summary {
  x: number;
  tx: number; // weeks
  T: number; // weeks
}

export function summaryOf(r: Pick<RawFeatures, 'x' | 't_x_days' | 'T_days'>): Summary {
  return { x: r.x, tx: r.t_x_days / WEEK, T: r.T_days / WEEK };
}

export function fitBaseline(rows: readonly RawFeatures[]): BgNbdFit {
  const s = rows.map(summaryOf);
  return fitBgNbd({ x: Float64Array.from(s, (v) => v.x), tx: Float64Array.from(s, (v) => v.tx), T: Float64Array.from(s, (v) => v.T) });
}

/**
 * P(no purchase in (T, T + t]) = (1 − P(alive)) + P(alive) · ((α+T)/(α+T+t))^(r+x): an alive customer's
 * posterior purchase rate is Gamma(r+x, α+T), and with no purchase there is no chance to drop out.
 */
export function pNoPurchase(params: BgNbdParams, s: Summary, horizonWeeks: number, pAliveFn: PAliveFn = bgnbdPAlive): number {
  const alive = pAliveFn(s.x, s.tx, s.T, params);
  const quiet = Math.exp((params.r + s.x) * (Math.log(params.alpha + s.T) - Math.log(params.alpha + s.T + horizonWeeks)));
  return 1 - alive + alive * quiet;
}

export function pAliveOf(params: BgNbdParams, s: Summary, pAliveFn: PAliveFn = bgnbdPAlive): number {
  return pAliveFn(s.x, s.tx, s.T, params);
}
