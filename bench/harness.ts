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

export interface TimedRequests {
  seconds: number;
  /** Sorted ascending, in milliseconds. */
  latencies: number[];
  failures: number;
}

/** Sends one request per item from `concurrency` workers, each waiting for its answer before the next. */
export async function timedRequests<T>(items: readonly T[], concurrency: number, send: (item: T) => Promise<Response>): Promise<TimedRequests> {
  let next = 0;
  let failures = 0;
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        const s = performance.now();
        const res = await send(item);
        await res.arrayBuffer();
        latencies.push(performance.now() - s);
        if (!res.ok) failures++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { seconds: (performance.now() - t0) / 1000, latencies, failures };
}
