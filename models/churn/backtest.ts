// Time-split backtest of the churn candidates. Input: customers described at a past cut-off with the label
// observed after it. The tfjs models train on a customer-hash split (or k folds) and are scored on the
// customers they did not see; BG/NBD needs no labels, so it is fitted on every customer's calibration
// summary (as its users would) and scored on the same customers. The best AUC wins; within `aucTolerance`
// the simpler candidate wins.
import crypto from 'node:crypto';
import type { TrainOptions } from './classifier.ts';
import type { FeatureName, RawFeatures } from './features.ts';
import { evaluateChurn, type ChurnEvaluation } from './metrics.ts';
import { fitBaseline, type BgNbdParams } from './bgnbd-baseline.ts';
import { bgnbdScorer, SIMPLICITY, trainClassifierScorer, type CandidateName, type ChurnScorer } from './scorers.ts';
import type { BgNbdFit } from '../clv/bgnbd.ts';

export interface BacktestOptions {
  features: readonly FeatureName[];
  horizonDays: number;
  candidates?: readonly CandidateName[];
  /** Single split: this share of customers is held out (default 0.3). Ignored when folds > 1. */
  testFraction?: number;
  /** k > 1: k-fold cross-validation, every customer scored by a model that did not see it. */
  folds?: number;
  seed?: number;
  train?: Omit<TrainOptions, 'kind'>;
  aucTolerance?: number;
  /** Below this many training rows (or 5 of either class) the tfjs models are not trained. */
  minTrainRows?: number;
}

export interface CandidateResult {
  name: CandidateName;
  evaluation: ChurnEvaluation | null;
  error?: string;
  trainMs?: number;
  /** Logistic coefficients by feature (per standard deviation of the input). */
  coefficients?: Record<string, number>;
}

export interface BacktestResult {
  calibrationRows: number;
  trainRows: number;
  testRows: number;
  testPositives: number;
  folds: number;
  candidates: CandidateResult[];
  chosen: CandidateName | null;
  why: string;
  bgnbd: { params: BgNbdParams; logLik: number } | null;
  /** The scorers as trained in the backtest (fold 0's for the tfjs models), keyed by candidate. */
  scorers: Partial<Record<CandidateName, ChurnScorer>>;
  /** Customers that fold 0's scorers did not train on (for showing example reasons). */
  exampleIds: Set<string>;
}

export const DEFAULT_CANDIDATES: readonly CandidateName[] = ['logistic', 'mlp', 'p_alive', 'p_no_purchase'];

/** A customer's place in [0, 1) for splitting: the same customer lands on the same side in every run with the same seed. */
export function splitUnit(customerId: string, seed: number): number {
  return crypto.createHash('sha1').update(`${seed}:${customerId}`).digest().readUInt32BE(0) / 0x1_0000_0000;
}

export async function backtest(rows: readonly RawFeatures[], opts: BacktestOptions): Promise<BacktestResult> {
  const seed = opts.seed ?? 42;
  const folds = Math.max(1, Math.floor(opts.folds ?? 1));
  const fraction = opts.testFraction ?? 0.3;
  const candidates = opts.candidates ?? DEFAULT_CANDIDATES;
  // fold[i] = the fold whose model scores row i; -1 = training only (single split).
  const fold = rows.map((r) => {
    const u = splitUnit(r.customer_id, seed);
    return folds > 1 ? Math.min(folds - 1, Math.floor(u * folds)) : u < fraction ? 0 : -1;
  });
  const evalIdx = fold.flatMap((f, i) => (f >= 0 ? [i] : []));
  const test = evalIdx.map((i) => rows[i]!);
  const yTest = Float64Array.from(test, (r) => r.churned);
  const results: CandidateResult[] = [];
  const scorers: Partial<Record<CandidateName, ChurnScorer>> = {};

  let fit: BgNbdFit | null = null;
  let fitError: string | undefined;
  if (candidates.some((c) => c === 'p_alive' || c === 'p_no_purchase')) {
    try {
      fit = fitBaseline(rows);
    } catch (err) {
      fitError = (err as Error).message;
    }
  }

  const minRows = opts.minTrainRows ?? 30;
  const untrainable = (train: RawFeatures[]): string | null => {
    const pos = train.reduce((s, r) => s + r.churned, 0);
    if (train.length < minRows) return `only ${train.length} training customers (need ${minRows})`;
    if (pos < 5 || train.length - pos < 5) return `training labels too one-sided (${pos} churned of ${train.length})`;
    return null;
  };

  for (const name of candidates) {
    const started = Date.now();
    const result: CandidateResult = { name, evaluation: null };
    results.push(result);
    try {
      const scores = new Float64Array(test.length);
      if (name === 'logistic' || name === 'mlp') {
        // Each fold's model scores only the customers it did not see.
        for (let k = 0; k < folds; k++) {
          const train = rows.filter((_, i) => fold[i] !== k);
          const why = untrainable(train);
          if (why) throw new Error(why);
          const s = await trainClassifierScorer(name, train, opts.features, { seed, ...opts.train });
          const held = evalIdx.flatMap((i, j) => (fold[i] === k ? [j] : []));
          const out = s.score(held.map((j) => test[j]!));
          held.forEach((j, q) => (scores[j] = out[q]!));
          if (k === 0) {
            scorers[name] = s;
            const coef = s.model.coefficients();
            if (coef) result.coefficients = coef;
          }
        }
        result.trainMs = Date.now() - started;
      } else {
        if (!fit) throw new Error(fitError ?? 'BG/NBD not fitted');
        const scorer = bgnbdScorer(fit.params, rows, name === 'p_no_purchase' ? opts.horizonDays / 7 : undefined);
        scorers[name] = scorer;
        scores.set(scorer.score(test));
      }
      result.evaluation = test.length > 0 ? evaluateChurn(scores, yTest) : null;
    } catch (err) {
      result.error = (err as Error).message;
    }
  }

  const { chosen, why } = choose(results, opts.aucTolerance ?? 0.005, test.length);
  return {
    calibrationRows: rows.length,
    trainRows: folds > 1 ? rows.length - Math.ceil(rows.length / folds) : rows.length - test.length,
    testRows: test.length,
    testPositives: yTest.reduce((s, v) => s + v, 0),
    folds,
    candidates: results,
    chosen,
    why: folds > 1 ? `${why} (${folds}-fold out-of-fold scores)` : why,
    bgnbd: fit ? { params: fit.params, logLik: fit.logLik } : null,
    scorers,
    exampleIds: new Set(rows.filter((_, i) => fold[i] === 0).map((r) => r.customer_id)),
  };
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toFixed(3) : 'n/a';
}

export function choose(results: readonly CandidateResult[], tolerance: number, testRows: number): { chosen: CandidateName | null; why: string } {
  const usable = results.filter((r) => !r.error);
  const rated = usable.filter((r) => r.evaluation && Number.isFinite(r.evaluation.auc));
  if (rated.length === 0) {
    // Without a backtest (too little history, or one class only) fall back to the model that needs no labels.
    // P(no purchase in the horizon) is the BG/NBD reading of the label itself; 1 − P(alive) ranks one-time
    // buyers as safe (P(alive) = 1 with no repeat purchase), so it comes second.
    const fallback = usable.find((r) => r.name === 'p_no_purchase') ?? usable.find((r) => r.name === 'p_alive') ?? usable[0];
    if (!fallback) return { chosen: null, why: 'no candidate could be fitted' };
    return { chosen: fallback.name, why: `no usable backtest (${testRows} held-out customers, AUC undefined); ${fallback.name} needs no labels` };
  }
  const best = rated.reduce((a, b) => (b.evaluation!.auc > a.evaluation!.auc ? b : a));
  const close = rated
    .filter((r) => r.evaluation!.auc >= best.evaluation!.auc - tolerance)
    .sort((a, b) => SIMPLICITY[a.name] - SIMPLICITY[b.name] || b.evaluation!.auc - a.evaluation!.auc);
  const pick = close[0]!;
  const others = rated.filter((r) => r !== pick).map((r) => `${r.name} ${fmt(r.evaluation!.auc)}`);
  const rule = pick === best ? 'highest backtest AUC' : `within ${tolerance} AUC of ${best.name} (${fmt(best.evaluation!.auc)}) and simpler`;
  return {
    chosen: pick.name,
    why: `${pick.name}: ${rule}, AUC ${fmt(pick.evaluation!.auc)}${others.length ? ` vs ${others.join(', ')}` : ''} on ${testRows} held-out customers`,
  };
}
