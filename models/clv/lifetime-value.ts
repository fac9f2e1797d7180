// Customer lifetime value = expected purchases (BG/NBD) × expected spend (Gamma-Gamma), discounted.
//
// Discounting, as lifetimes' `customer_lifetime_value` does it: the horizon is cut into monthly steps,
// the purchases expected within each step (E[Y(t_k)] − E[Y(t_{k−1})]) are valued at the step's end and
// discounted by (1 + d_month)^−k. cvm's setting is an annual rate, so d_month = (1 + annual)^(1/12) − 1
// (compound-equivalent: twelve monthly steps discount exactly by the annual rate). A month is 365.25/12
// days; a horizon that is not a whole number of months ends with one shorter step, discounted at its
// fractional month. lifetimes instead takes a monthly rate directly and counts whole months only;
// `lifetimesSchedule` reproduces that so the figures in its documentation can be checked.
import { conditionalExpectedPurchases, pAlive, type BgNbdParams, type RfmArrays } from './bgnbd.ts';
import { conditionalExpectedSpend, type GammaGammaParams } from './gamma-gamma.ts';

export const DAYS_PER_MONTH = 365.25 / 12;

/** Step ends (in model time units) with the discount factor applied to each step's purchases. */
export interface DiscountSchedule {
  ends: number[];
  factors: number[];
}

/** Monthly steps over `horizonDays`, for a model whose time unit is `unitDays` days (7 for weeks). */
export function monthlySchedule(horizonDays: number, annualRate: number, unitDays = 7): DiscountSchedule {
  const months = horizonDays / DAYS_PER_MONTH;
  const steps = Math.max(1, Math.ceil(months - 1e-9));
  const ends: number[] = [];
  const factors: number[] = [];
  for (let k = 1; k <= steps; k++) {
    const m = Math.min(k, months);
    ends.push((m * DAYS_PER_MONTH) / unitDays);
    factors.push(Math.pow(1 + annualRate, -m / 12));
  }
  return { ends, factors };
}

/** lifetimes' schedule: `months` whole steps of `unitsPerMonth` model units, monthly rate `monthlyRate`. */
export function lifetimesSchedule(months: number, monthlyRate: number, unitsPerMonth: number): DiscountSchedule {
  const ends: number[] = [];
  const factors: number[] = [];
  for (let k = 1; k <= months; k++) {
    ends.push(k * unitsPerMonth);
    factors.push(Math.pow(1 + monthlyRate, -k));
  }
  return { ends, factors };
}

/** Σ_k (E[Y(t_k)] − E[Y(t_{k−1})]) · factor_k: discounted expected purchases over the schedule. */
export function discountedPurchases(bg: BgNbdParams, s: DiscountSchedule, x: number, tx: number, T: number): number {
  let prev = 0;
  let sum = 0;
  for (let k = 0; k < s.ends.length; k++) {
    const e = conditionalExpectedPurchases(bg, s.ends[k]!, x, tx, T);
    sum += (e - prev) * s.factors[k]!;
    prev = e;
  }
  return sum;
}

export interface CustomerScores {
  pAlive: Float64Array;
  /** Undiscounted expected purchases over the whole horizon. */
  expectedPurchases: Float64Array;
  expectedSpend: Float64Array;
  clv: Float64Array;
}

/** Scores every customer of a summary; zbar is the mean repeat-transaction value (0 when x = 0). */
export function scoreCustomers(
  bg: BgNbdParams,
  gg: GammaGammaParams,
  d: RfmArrays & { zbar: Float64Array },
  schedule: DiscountSchedule,
): CustomerScores {
  const n = d.x.length;
  const out: CustomerScores = {
    pAlive: new Float64Array(n),
    expectedPurchases: new Float64Array(n),
    expectedSpend: new Float64Array(n),
    clv: new Float64Array(n),
  };
  const horizon = schedule.ends[schedule.ends.length - 1] ?? 0;
  for (let i = 0; i < n; i++) {
    const x = d.x[i]!;
    const tx = d.tx[i]!;
    const T = d.T[i]!;
    // A repeat buyer whose repeat spend was all zero gives no spend information: use the population mean.
    const zbar = d.zbar[i]!;
    const spend = conditionalExpectedSpend(gg, zbar > 0 ? x : 0, zbar);
    out.pAlive[i] = pAlive(bg, x, tx, T);
    out.expectedPurchases[i] = conditionalExpectedPurchases(bg, horizon, x, tx, T);
    out.expectedSpend[i] = spend;
    out.clv[i] = spend * discountedPurchases(bg, schedule, x, tx, T);
  }
  return out;
}
