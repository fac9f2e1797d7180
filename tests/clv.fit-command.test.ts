// `cvm clv fit` as the CLI runs it: JSON output on the CDNOW sample, text output, and the messages a
// user gets for bad arguments.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CliContext } from '../lib/cli-context.ts';
import { run } from '../models/clv/clv-fit.command.ts';
import { testConfig } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';

const SAMPLE = path.join(import.meta.dirname, 'fixtures', 'cdnow', 'CDNOW_sample.txt');

function context(): { ctx: CliContext; lines: string[] } {
  const lines: string[] = [];
  return { ctx: { config: testConfig(), log: initLogging({ level: 'silent' }), out: (l) => lines.push(l) }, lines };
}

describe('cvm clv fit', () => {
  it('prints the fit and holdout figures as JSON', async () => {
    const { ctx, lines } = context();
    const code = await run(['--transactions', SAMPLE, '--calibration-end', '1997-09-30', '--holdout-end', '1998-06-30', '--json'], ctx);
    expect(code).toBe(0);
    const out = JSON.parse(lines.join('\n'));
    expect(out.customers).toBe(2357);
    expect(Object.keys(out.bgnbd)).toEqual(expect.arrayContaining(['r', 'alpha', 'a', 'b', 'loglik']));
    expect(Object.keys(out.gammagamma)).toEqual(expect.arrayContaining(['p', 'q', 'gamma', 'loglik', 'customers']));
    expect(out.bgnbd.r).toBeCloseTo(0.2426, 3);
    expect(out.gammagamma.customers).toBe(946);
    expect(out.holdout).toMatchObject({ actual_repeat_transactions: 1882 });
    expect(out.holdout.predicted_repeat_transactions).toBeGreaterThan(1600);
    expect(out.holdout.correlation).toBeCloseTo(0.626, 2);
    expect(out.holdout.auc_any_purchase).toBeGreaterThan(0.75);
    expect(out.warnings).toEqual([]);
  });

  it('prints a short text report without --json and no holdout without --holdout-end', async () => {
    const { ctx, lines } = context();
    await run(['--transactions', SAMPLE, '--format', 'cdnow', '--calibration-end', '1997-09-30'], ctx);
    expect(lines.join('\n')).toMatch(/BG\/NBD\s+r=0\.24/);
    expect(lines.join('\n')).not.toMatch(/holdout/);
  });

  it('gives clear messages for bad arguments', async () => {
    const { ctx } = context();
    const fails = async (argv: string[], message: RegExp) => {
      const err = await run(argv, ctx).then(
        () => null,
        (e: unknown) => e as Error & { userFacing?: boolean },
      );
      expect(err?.message).toMatch(message);
      expect(err?.userFacing).toBe(true);
    };
    await fails(['--transactions', '/no/such/file.csv', '--calibration-end', '1997-09-30'], /transaction file not found: \/no\/such\/file\.csv/);
    await fails(['--transactions', SAMPLE, '--calibration-end', '30/09/1997'], /--calibration-end must be a date like 1997-09-30, got '30\/09\/1997'/);
    await fails(['--transactions', SAMPLE, '--calibration-end', '1997-02-30'], /--calibration-end must be a date/);
    await fails(['--transactions', SAMPLE, '--format', 'excel', '--calibration-end', '1997-09-30'], /unknown format 'excel'; use one of cdnow, online-retail, generic/);
    await fails(['--transactions', SAMPLE], /--calibration-end YYYY-MM-DD is required/);
    await fails(['--calibration-end', '1997-09-30'], /--transactions FILE is required/);
    await fails(['--transactions', SAMPLE, '--calibration-end', '1997-09-30', '--holdout-end', '1997-09-01'], /--holdout-end must be after/);
    await fails(['--transactions', SAMPLE, '--calibration-end', '1996-01-01'], /no customer .* made a first purchase on or before 1996-01-01/);
    await fails(['--transactions', SAMPLE, '--bogus'], /Unknown option '--bogus'/);
  });
});
