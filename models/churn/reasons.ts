// Per-customer reasons: the features that push this customer's churn risk up the most, as sentences
// ("no purchase for 120 days", "spend down 60% vs previous 90 days"), strongest first.
import { featureSpec, type RawFeatures, type ReasonContext } from './features.ts';
import type { Contributions } from './scorers.ts';

export interface ReasonOptions extends ReasonContext {
  /** At most this many reasons per customer. */
  max?: number;
  /** Contributions at or below this (in the scorer's units) are not reasons. */
  minContribution?: number;
  /** Population the "above/below average" check uses (see FeatureSpec.riskWhen); defaults to `rows`. */
  reference?: readonly RawFeatures[];
}

export function reasonsFor(rows: readonly RawFeatures[], contrib: Contributions, opts: ReasonOptions): string[][] {
  const f = contrib.features.length;
  const specs = contrib.features.map(featureSpec);
  const max = opts.max ?? 3;
  const min = opts.minContribution ?? 1e-6;
  const reference = opts.reference ?? rows;
  const mean = specs.map((spec) => reference.reduce((s, r) => s + spec.value(r), 0) / Math.max(1, reference.length));
  const onRiskySide = (j: number, row: RawFeatures): boolean => {
    const side = specs[j]!.riskWhen;
    const v = specs[j]!.value(row);
    return side === 'either' || (side === 'high' ? v > mean[j]! : v < mean[j]!);
  };
  return rows.map((row, i) => {
    const ranked = specs
      .map((spec, j) => ({ spec, j, c: contrib.values[i * f + j]! }))
      .filter((e) => e.c > min && onRiskySide(e.j, row))
      .sort((a, b) => b.c - a.c);
    const out: string[] = [];
    for (const { spec } of ranked) {
      const text = spec.describe(row, opts);
      // Two inputs can tell the same fact (e.g. both trends when nothing was bought): say it once.
      if (text !== null && !out.includes(text)) out.push(text);
      if (out.length >= max) break;
    }
    return out;
  });
}

/** The feature names behind each customer's reasons, same order; for tests and diagnostics. */
export function topFeatures(contrib: Contributions, rows: number, k = 3): string[][] {
  const f = contrib.features.length;
  return Array.from({ length: rows }, (_, i) =>
    contrib.features
      .map((name, j) => ({ name, c: contrib.values[i * f + j]! }))
      .filter((e) => e.c > 0)
      .sort((a, b) => b.c - a.c)
      .slice(0, k)
      .map((e) => e.name),
  );
}
