// Holdout diagnostics for the transaction model: how well calibration-period predictions match what
// customers actually did afterwards.

/** Pearson correlation; NaN when either side is constant. */
export function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** ROC AUC of `score` for the 0/1 `label` (Mann-Whitney U with tied scores given their mean rank). */
export function auc(score: ArrayLike<number>, label: ArrayLike<boolean>): number {
  const n = score.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((i, j) => score[i]! - score[j]!);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && score[idx[j + 1]!]! === score[idx[i]!]!) j++;
    const meanRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (label[idx[k]!]) {
        pos++;
        rankSum += meanRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}
