// Scores for a churn ranking against observed labels (1 = churned). Higher score = more likely to churn.
// Ties are treated as random order everywhere (AUC counts them half; the top decile takes a tied group
// pro rata), so a model that gives many customers the same score is neither rewarded nor punished by sort order.

export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  meanPredicted: number;
  observedRate: number;
}

export interface ChurnEvaluation {
  n: number;
  positives: number;
  baseRate: number;
  auc: number;
  precisionTopDecile: number;
  recallTopDecile: number;
  liftTopDecile: number;
  brier: number;
  /** Expected calibration error: count-weighted mean |observed − predicted| over the reliability bins. */
  ece: number;
  reliability: ReliabilityBin[];
}

function check(scores: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (scores.length !== labels.length) throw new Error(`scores (${scores.length}) and labels (${labels.length}) differ in length`);
}

/** Area under the ROC curve via the Mann-Whitney statistic with mid-ranks for ties. NaN without both classes. */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  check(scores, labels);
  const n = scores.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rankSumPos = 0;
  let pos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const midRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[idx[k]!] === 1) {
        rankSumPos += midRank;
        pos++;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * Precision and recall among the top `fraction` of customers by score (top decile by default).
 * The cut takes ceil(n × fraction) customers; a tied group that straddles the cut counts pro rata.
 */
export function topFraction(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  fraction = 0.1,
): { k: number; precision: number; recall: number } {
  check(scores, labels);
  const n = scores.length;
  const k = Math.ceil(n * fraction);
  const totalPos = Array.from(labels).reduce((s, y) => s + (y === 1 ? 1 : 0), 0);
  if (n === 0 || k === 0) return { k: 0, precision: NaN, recall: NaN };
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let taken = 0;
  let hits = 0;
  for (let i = 0; i < n && taken < k; ) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const size = j - i + 1;
    let groupPos = 0;
    for (let q = i; q <= j; q++) if (labels[idx[q]!] === 1) groupPos++;
    const take = Math.min(size, k - taken);
    hits += (groupPos * take) / size;
    taken += take;
    i = j + 1;
  }
  return { k, precision: hits / k, recall: totalPos === 0 ? NaN : hits / totalPos };
}

/** Mean squared difference between predicted probability and outcome. */
export function brier(probs: ArrayLike<number>, labels: ArrayLike<number>): number {
  check(probs, labels);
  if (probs.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < probs.length; i++) s += (probs[i]! - labels[i]!) ** 2;
  return s / probs.length;
}

/** Equal-width reliability bins over [0, 1]; empty bins are left out. */
export function reliability(probs: ArrayLike<number>, labels: ArrayLike<number>, bins = 10): ReliabilityBin[] {
  check(probs, labels);
  const count = new Array<number>(bins).fill(0);
  const sumP = new Array<number>(bins).fill(0);
  const sumY = new Array<number>(bins).fill(0);
  for (let i = 0; i < probs.length; i++) {
    const p = Math.min(1, Math.max(0, probs[i]!));
    const b = Math.min(bins - 1, Math.floor(p * bins));
    count[b]!++;
    sumP[b]! += p;
    sumY[b]! += labels[i]!;
  }
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    if (count[b] === 0) continue;
    out.push({ lower: b / bins, upper: (b + 1) / bins, count: count[b]!, meanPredicted: sumP[b]! / count[b]!, observedRate: sumY[b]! / count[b]! });
  }
  return out;
}

export function expectedCalibrationError(bins: ReliabilityBin[]): number {
  const n = bins.reduce((s, b) => s + b.count, 0);
  if (n === 0) return NaN;
  return bins.reduce((s, b) => s + b.count * Math.abs(b.observedRate - b.meanPredicted), 0) / n;
}

/** Every figure at once; `probs` are the scores read as probabilities of churn. */
export function evaluateChurn(probs: ArrayLike<number>, labels: ArrayLike<number>, bins = 10): ChurnEvaluation {
  const n = probs.length;
  const positives = Array.from(labels).reduce((s, y) => s + (y === 1 ? 1 : 0), 0);
  const baseRate = n === 0 ? NaN : positives / n;
  const top = topFraction(probs, labels, 0.1);
  const rel = reliability(probs, labels, bins);
  return {
    n,
    positives,
    baseRate,
    auc: auc(probs, labels),
    precisionTopDecile: top.precision,
    recallTopDecile: top.recall,
    liftTopDecile: top.precision / baseRate,
    brier: brier(probs, labels),
    ece: expectedCalibrationError(rel),
    reliability: rel,
  };
}
