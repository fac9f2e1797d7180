// Train/test splits for offline evaluation and the ground truth they imply.
import { subset, type Interactions } from './interactions.ts';

import { mulberry32 as rng } from '../../lib/random.ts';
export { rng };

export interface Split {
  train: Interactions;
  test: Interactions;
  /** Reference time for decay: the cut-off (time split) or the latest training interaction. */
  now: number;
}

/** Everything before the cut-off trains, everything at or after it tests. */
export function timeSplit(data: Interactions, cutoff: number): Split {
  const tr: number[] = [];
  const te: number[] = [];
  for (let k = 0; k < data.length; k++) (data.ts[k]! < cutoff ? tr : te).push(k);
  return { train: subset(data, tr), test: subset(data, te), now: cutoff };
}

/**
 * Per-user random split of the user's distinct items (Microsoft Recommenders' python_stratified_split,
 * filter_by='user'): each user keeps round(ratio · n) items for training and the rest are held out. All
 * rows of one (user, item) pair go to the same side, so a held-out item is never also a training item.
 */
export function stratifiedSplit(data: Interactions, ratio = 0.75, seed = 42): Split {
  const pairs = new Map<number, Map<number, number[]>>();
  for (let k = 0; k < data.length; k++) {
    const u = data.user[k]!;
    let items = pairs.get(u);
    if (!items) pairs.set(u, (items = new Map()));
    const rows = items.get(data.item[k]!);
    if (rows) rows.push(k);
    else items.set(data.item[k]!, [k]);
  }
  const random = rng(seed);
  const tr: number[] = [];
  const te: number[] = [];
  let now = -Infinity;
  const users = [...pairs.keys()].sort((a, b) => a - b);
  for (const u of users) {
    const groups = [...pairs.get(u)!.values()];
    for (let i = groups.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [groups[i], groups[j]] = [groups[j]!, groups[i]!];
    }
    const nTrain = Math.round(ratio * groups.length);
    groups.forEach((rows, g) => {
      for (const k of rows) {
        if (g < nTrain) {
          tr.push(k);
          if (data.ts[k]! > now) now = data.ts[k]!;
        } else te.push(k);
      }
    });
  }
  tr.sort((a, b) => a - b);
  te.sort((a, b) => a - b);
  return { train: subset(data, tr), test: subset(data, te), now };
}

/**
 * Held-out items per user, for users who also appear in training (nobody can personalise for a stranger).
 * With keepSeen = false, items the user already had in training are not relevant: they are removed from
 * the candidates, so counting them would only add unreachable items to every model's recall.
 */
export function groundTruth(split: Split, keepSeen: boolean): Map<number, Set<number>> {
  const seen = new Map<number, Set<number>>();
  for (let k = 0; k < split.train.length; k++) {
    const u = split.train.user[k]!;
    let s = seen.get(u);
    if (!s) seen.set(u, (s = new Set()));
    s.add(split.train.item[k]!);
  }
  const truth = new Map<number, Set<number>>();
  for (let k = 0; k < split.test.length; k++) {
    const u = split.test.user[k]!;
    const had = seen.get(u);
    if (!had) continue;
    const it = split.test.item[k]!;
    if (!keepSeen && had.has(it)) continue;
    let s = truth.get(u);
    if (!s) truth.set(u, (s = new Set()));
    s.add(it);
  }
  return truth;
}
