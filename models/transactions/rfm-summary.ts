// The calibration summary BG/NBD and Gamma-Gamma are fitted on, per customer (Fader-Hardie convention):
//   x    repeat transactions (transaction days after the first) up to and including the calibration end,
//   t_x  time from the first to the last of them, T time from the first to the calibration end,
//   zbar mean value of the repeat transactions (0 when x = 0),
// all times in `unitDays`-day units (weeks by default); plus repeat transactions in the holdout
// (calibration end, holdout end]. Customers whose first transaction is after the calibration end are
// not in the cohort and are left out (counted in `excludedLate`).
import type { CustomerDays } from './customer-days.ts';

export interface RfmSummary {
  ids: string[];
  x: Float64Array;
  tx: Float64Array;
  T: Float64Array;
  zbar: Float64Array;
  /** Repeat transactions in the holdout period; all zero without a holdout end. */
  holdout: Float64Array;
  calibrationEnd: number;
  holdoutEnd: number | null;
  unitDays: number;
  excludedLate: number;
}

export function buildSummary(days: CustomerDays, calibrationEnd: number, holdoutEnd: number | null = null, unitDays = 7): RfmSummary {
  const ids: string[] = [];
  const x: number[] = [];
  const tx: number[] = [];
  const T: number[] = [];
  const zbar: number[] = [];
  const hold: number[] = [];
  let excludedLate = 0;
  for (const c of days.customers()) {
    const first = c.days[0]!;
    if (first > calibrationEnd) {
      excludedLate++;
      continue;
    }
    let last = first;
    let n = 0;
    let spend = 0;
    let h = 0;
    for (let k = 1; k < c.days.length; k++) {
      const d = c.days[k]!;
      if (d <= calibrationEnd) {
        n++;
        last = d;
        spend += c.values[k]!;
      } else if (holdoutEnd !== null && d <= holdoutEnd) h++;
    }
    ids.push(c.id);
    x.push(n);
    tx.push((last - first) / unitDays);
    T.push((calibrationEnd - first) / unitDays);
    zbar.push(n > 0 ? spend / n : 0);
    hold.push(h);
  }
  return {
    ids,
    x: Float64Array.from(x),
    tx: Float64Array.from(tx),
    T: Float64Array.from(T),
    zbar: Float64Array.from(zbar),
    holdout: Float64Array.from(hold),
    calibrationEnd,
    holdoutEnd,
    unitDays,
    excludedLate,
  };
}
