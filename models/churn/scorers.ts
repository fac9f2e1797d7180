// The churn candidates behind one interface: a score per customer (probability-like, higher = more likely
// to churn) and per-feature contributions to it, which reasons.ts turns into sentences.
import { ChurnClassifier, type ClassifierKind, type TrainOptions } from './classifier.ts';
import { featureMatrix, type FeatureName, type RawFeatures } from './features.ts';
import { pAliveOf, pNoPurchase, summaryOf, type BgNbdParams, type Summary } from './bgnbd-baseline.ts';

export type CandidateName = ClassifierKind | 'p_alive' | 'p_no_purchase';

/** Preference order when two candidates score about the same: fewer moving parts first. */
export const SIMPLICITY: Record<CandidateName, number> = { p_alive: 0, p_no_purchase: 0, logistic: 1, mlp: 2 };

export interface Contributions {
  features: FeatureName[];
  /** Row-major, rows × features; positive = pushes churn risk up. */
  values: Float64Array;
}

export interface ChurnScorer {
  name: CandidateName;
  score(rows: readonly RawFeatures[]): Float64Array;
  contributions(rows: readonly RawFeatures[]): Contributions;
}

export async function trainClassifierScorer(
  kind: ClassifierKind,
  rows: readonly RawFeatures[],
  features: readonly FeatureName[],
  opts: Omit<TrainOptions, 'kind'> = {},
): Promise<ChurnScorer & { model: ChurnClassifier }> {
  const X = featureMatrix(rows, features);
  const y = Float64Array.from(rows, (r) => r.churned);
  const model = await ChurnClassifier.train(X, y, [...features], { ...opts, kind });
  return classifierScorer(model, features);
}

export function classifierScorer(model: ChurnClassifier, features: readonly FeatureName[]): ChurnScorer & { model: ChurnClassifier } {
  return {
    name: model.kind,
    model,
    score: (rows) => model.predict(featureMatrix(rows, features)),
    contributions: (rows) => ({ features: [...features], values: model.contributions(featureMatrix(rows, features)) }),
  };
}

/**
 * BG/NBD read as churn. `horizonWeeks` given: P(no purchase in the horizon); otherwise 1 − P(alive).
 * Contributions are by occlusion on BG/NBD's own inputs: the change in risk when the customer's recency,
 * frequency or tenure is replaced by the population median (`reference`).
 */
export function bgnbdScorer(params: BgNbdParams, reference: readonly RawFeatures[], horizonWeeks?: number): ChurnScorer {
  const risk = (s: Summary) => (horizonWeeks === undefined ? 1 - pAliveOf(params, s) : pNoPurchase(params, s, horizonWeeks));
  const med = {
    x: median(reference.map((r) => r.x)),
    recencyWeeks: median(reference.map((r) => (r.T_days - r.t_x_days) / 7)),
    T: median(reference.map((r) => r.T_days / 7)),
  };
  const features: FeatureName[] = ['recency_days', 'frequency', 'tenure_days'];
  return {
    name: horizonWeeks === undefined ? 'p_alive' : 'p_no_purchase',
    score: (rows) => Float64Array.from(rows, (r) => risk(summaryOf(r))),
    contributions: (rows) => {
      const values = new Float64Array(rows.length * features.length);
      rows.forEach((r, i) => {
        const s = summaryOf(r);
        const base = risk(s);
        const variants: Summary[] = [
          // recency: last purchase moved to the typical distance from the cut-off (no effect without repeats)
          s.x > 0 ? { ...s, tx: clamp(s.T - med.recencyWeeks, 0, s.T) } : s,
          // frequency: typical number of repeat purchases, same timing
          { ...s, x: Math.round(med.x) },
          // tenure: typical age, keeping the time since the last purchase
          { x: s.x, T: med.T, tx: s.x > 0 ? clamp(med.T - (s.T - s.tx), 0, med.T) : 0 },
        ];
        variants.forEach((v, j) => (values[i * features.length + j] = base - risk(v)));
      });
      return { features, values };
    },
  };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
