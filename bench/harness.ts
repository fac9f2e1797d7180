// Benchmarks print each measurement next to a baseline measured in the same run, as a ratio, because
// machines here are shared and noisy: absolute numbers drift, ratios much less.
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  /** Free-form extra figures (p50/p99, RSS, ...). */
  extra?: Record<string, number | string>;
}

export interface BenchModule {
  /** A short name, used by `npm run bench -- NAME`. */
  name: string;
  run(opts: { dataPath: string | null; quick: boolean; log: (line: string) => void }): Promise<BenchRow[]>;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function formatRows(rows: BenchRow[]): string {
  const lines = ['| benchmark | value | baseline (same run) | ratio | extra |', '|---|---|---|---|---|'];
  for (const r of rows) {
    const ratio = r.baseline && r.baseline.value ? (r.value / r.baseline.value).toFixed(3) : '';
    const base = r.baseline ? `${r.baseline.name}: ${fmt(r.baseline.value)} ${r.unit}` : '';
    const extra = r.extra ? Object.entries(r.extra).map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : v}`).join(', ') : '';
    lines.push(`| ${r.name} | ${fmt(r.value)} ${r.unit} | ${base} | ${ratio} | ${extra} |`);
  }
  return lines.join('\n');
}

function fmt(n: number): string {
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2);
}

export async function peakRssMb(): Promise<number> {
  return process.resourceUsage().maxRSS / 1024;
}
