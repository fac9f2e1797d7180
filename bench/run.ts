// `npm run bench [-- NAME ...] [--data PATH] [--quick]`: runs the benchmark modules, each in its own
// child process (chDB binds one data directory per process), and prints one Markdown table.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { CliContext } from '../lib/cli-context.ts';
import { formatRows, type BenchModule, type BenchRow } from './harness.ts';

export const BENCHES: Record<string, () => Promise<{ default: BenchModule }>> = {
  ingest: () => import('./ingest.bench.ts'),
  api: () => import('./api.bench.ts'),
  transform: () => import('./transform.bench.ts'),
  dashboards: () => import('./dashboards.bench.ts'),
  models: () => import('./models.bench.ts'),
  recs: () => import('./recs.bench.ts'),
  latency: () => import('./latency.bench.ts'),
};

const here = path.dirname(fileURLToPath(import.meta.url));

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { data: { type: 'string' }, quick: { type: 'boolean', default: false }, child: { type: 'boolean', default: false } } });
  const names = positionals.length ? positionals : Object.keys(BENCHES);
  for (const n of names) if (!BENCHES[n]) throw new Error(`unknown benchmark '${n}'; known: ${Object.keys(BENCHES).join(', ')}`);
  if (values.child) {
    const mod = (await BENCHES[names[0]!]!()).default;
    const rows = await mod.run({ dataPath: values.data ?? null, quick: values.quick ?? false, log: (l) => process.stderr.write(l + '\n') });
    ctx.out(`BENCH_ROWS ${JSON.stringify(rows)}`);
    return 0;
  }
  const all: BenchRow[] = [];
  for (const n of names) {
    ctx.out(`running ${n}…`);
    const args = [path.join(here, '..', 'bin', 'cvm.mjs'), 'bench', n, '--child', ...(values.data ? ['--data', values.data] : []), ...(values.quick ? ['--quick'] : [])];
    const res = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, CVM_LOG_LEVEL: 'warn' } });
    const line = res.stdout.split('\n').find((l) => l.startsWith('BENCH_ROWS '));
    if (res.status !== 0 || !line) {
      ctx.out(`benchmark ${n} failed (exit ${res.status})`);
      continue;
    }
    all.push(...(JSON.parse(line.slice('BENCH_ROWS '.length)) as BenchRow[]));
  }
  ctx.out('\n' + formatRows(all));
  return 0;
}
