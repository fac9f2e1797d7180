// Hyper-parameter search for SAR on a validation split carved from the training data only: the test
// period is never looked at. Coordinate descent over a small grid (one parameter at a time, keep the
// best, repeat) needs ~30 fits instead of the grid's hundreds; similarity is cached between fits.
import { subset, type Interactions } from './interactions.ts';
import { evaluateModels } from './evaluate.ts';
import { Sar, SAR_DEFAULTS, type SarParams } from './sar.ts';
import { stratifiedSplit, timeSplit, type Split } from './splits.ts';

export const SAR_GRID: { [K in keyof SarParams]?: ReadonlyArray<SarParams[K]> } = {
  similarity: ['jaccard', 'cosine', 'lift'],
  halfLifeDays: [0, 7, 15, 30, 60, 120],
  affinity: ['sum', 'log', 'binary'],
  trendWeight: [0, 0.05, 0.1, 0.2, 0.4],
  trendHalfLifeDays: [3, 7, 14, 30, 60],
};

export interface Trial {
  params: SarParams;
  /** Mean over the validation folds. */
  ndcg: number;
  precision: number;
  folds: Array<{ ndcg: number; precision: number }>;
}

export interface TuneResult {
  best: SarParams;
  trials: Trial[];
}

/**
 * Validation splits carved from the training data. Time split: rolling origin, `folds` back-to-back
 * windows at the end of the training period, each as long as the test period (shortened so that the
 * first window still has at least as much history before it as its own length); each fold trains on
 * everything before its window. One window alone tuned a seasonal parameter (the trending blend) to one
 * season; averaging over windows asks for settings that hold across them. Stratified split: `folds`
 * stratified splits of the training rows with different seeds.
 */
export function validationSplits(
  train: Interactions,
  outer: { kind: 'time'; cutoff: number; testSpanMs: number; trainStart: number; folds?: number } | { kind: 'stratified'; ratio: number; seed: number; folds?: number },
): Array<{ split: Split; cutoff?: number; end?: number }> {
  const folds = outer.folds ?? 2;
  const out: Array<{ split: Split; cutoff?: number; end?: number }> = [];
  if (outer.kind === 'stratified') {
    for (let f = 0; f < folds; f++) out.push({ split: stratifiedSplit(train, outer.ratio, outer.seed + 1 + f) });
    return out;
  }
  const span = Math.min(outer.testSpanMs, (outer.cutoff - outer.trainStart) / (folds + 1));
  for (let f = folds; f >= 1; f--) {
    const cutoff = outer.cutoff - f * span;
    const end = cutoff + span;
    const rows: number[] = [];
    for (let r = 0; r < train.length; r++) if (train.ts[r]! < end) rows.push(r);
    const s = timeSplit(subset(train, rows), cutoff);
    out.push({ split: s, cutoff, end });
  }
  return out;
}

export function tuneSar(
  splits: Split[],
  opts: { k: number; keepSeen?: boolean; start?: SarParams; passes?: number; onTrial?: (t: Trial) => void },
): Omit<TuneResult, 'validation'> & { users: number[] } {
  const trials: Trial[] = [];
  const tried = new Map<string, Trial>();
  const users: number[] = splits.map(() => 0);
  const evalOne = (p: SarParams): Trial => {
    const key = JSON.stringify(p);
    const known = tried.get(key);
    if (known) return known;
    let ndcg = 0;
    let precision = 0;
    const folds: Array<{ ndcg: number; precision: number }> = [];
    splits.forEach((split, f) => {
      const { results, stats } = evaluateModels([new Sar(p)], split, { k: opts.k, keepSeen: opts.keepSeen });
      users[f] = stats.evaluatedUsers;
      const m = results.sar!.metrics;
      folds.push({ ndcg: m.ndcg, precision: m.precision });
      ndcg += m.ndcg / splits.length;
      precision += m.precision / splits.length;
    });
    const t = { params: p, ndcg, precision, folds };
    tried.set(key, t);
    trials.push(t);
    opts.onTrial?.(t);
    return t;
  };
  const better = (a: Trial, b: Trial) => a.ndcg > b.ndcg || (a.ndcg === b.ndcg && a.precision > b.precision);
  let best = evalOne({ ...(opts.start ?? SAR_DEFAULTS) });
  for (let pass = 0; pass < (opts.passes ?? 2); pass++) {
    let improved = false;
    for (const [name, values] of Object.entries(SAR_GRID) as Array<[keyof SarParams, ReadonlyArray<never>]>) {
      // The trend half-life only matters when the trend blend is on.
      if (name === 'trendHalfLifeDays' && best.params.trendWeight === 0) continue;
      for (const v of values) {
        const t = evalOne({ ...best.params, [name]: v });
        if (better(t, best)) {
          best = t;
          improved = true;
        }
      }
    }
    if (!improved) break;
  }
  return { best: best.params, trials, users };
}
