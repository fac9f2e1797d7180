// The evaluate command end to end on a small generic file: every model in one table, both splits.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../models/recs/recs-evaluate.command.ts';
import { testConfig } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';

const FILE = path.join(import.meta.dirname, 'fixtures', 'recs', 'generic-small.csv');

async function evaluate(args: string[]) {
  const lines: string[] = [];
  const code = await run(args, { config: testConfig(), log: initLogging({ level: 'silent' }), out: (l) => lines.push(l) });
  return { code, out: lines.join('\n') };
}

describe('cvm recs evaluate', () => {
  it('time split: one JSON table with the baselines and the cvm models', async () => {
    const { code, out } = await evaluate(['--interactions', FILE, '--format', 'generic', '--split', 'time', '--k', '5', '--json']);
    expect(code).toBe(0);
    const r = JSON.parse(out);
    expect(Object.keys(r.models)).toEqual(['most-popular', 'item-knn', 'sar', 'sar-trend', 'bpr']);
    for (const m of Object.values(r.models) as Array<Record<string, number>>) {
      expect(Object.keys(m)).toEqual(['precision@5', 'recall@5', 'ndcg@5', 'map@5', 'coverage']);
      for (const v of Object.values(m)) expect(v).toBeGreaterThanOrEqual(0);
      for (const v of Object.values(m)) expect(v).toBeLessThanOrEqual(1);
    }
    expect(r.split.evaluatedUsers).toBeGreaterThan(10);
    // Two clean taste groups: co-occurrence models must beat the one-list-for-all baseline.
    expect(r.models.sar['precision@5']).toBeGreaterThan(r.models['most-popular']['precision@5']);
    expect(r.models['item-knn']['ndcg@5']).toBeGreaterThan(r.models['most-popular']['ndcg@5']);
  });

  it('stratified split with --tune adds sar-tuned and reports the validation search', async () => {
    const { out } = await evaluate(['--interactions', FILE, '--format', 'generic', '--split', 'stratified', '--models', 'most-popular,sar', '--tune', '--json']);
    const r = JSON.parse(out);
    expect(Object.keys(r.models)).toEqual(['most-popular', 'sar', 'sar-tuned']);
    expect(r.split).toMatchObject({ kind: 'stratified', ratio: 0.75, seed: 42 });
    expect(r.tuning.trials).toBeGreaterThan(5);
    expect(r.tuning.folds).toHaveLength(2);
  });

  it('prints a table without --json and refuses bad flags clearly', async () => {
    const { out } = await evaluate(['--interactions', FILE, '--models', 'most-popular', '--k', '3']);
    expect(out).toMatch(/precision@3/);
    await expect(evaluate(['--interactions', FILE, '--k', '0'])).rejects.toThrow(/--k must be an integer/);
    await expect(evaluate(['--interactions', FILE, '--format', 'csv'])).rejects.toThrow(/--format must be one of/);
    await expect(evaluate(['--interactions', FILE, '--models', 'magic'])).rejects.toThrow(/unknown model magic/);
    await expect(evaluate(['--format', 'generic'])).rejects.toThrow(/--interactions FILE is required/);
    await expect(evaluate(['--interactions', FILE, '--cutoff', '1990-01-01'])).rejects.toThrow(/empty/);
  });
});
