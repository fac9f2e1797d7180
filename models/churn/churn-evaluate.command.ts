// `cvm churn evaluate`: backtest the churn candidates on a transaction file. Features are taken at the
// calibration end, the label is "no purchase in (calibration end, holdout end]". The tfjs models train on
// a customer split and every candidate is scored on the held-out customers; the BG/NBD baselines are also
// reported on all customers, the population published BG/NBD checks use.
import { parseArgs } from 'node:util';
import { UserError, type CliContext } from '../../lib/cli-context.ts';
import { conditionalExpectedPurchases } from '../clv/bgnbd.ts';
import { formatDay, parseIsoDay } from '../../ingest/transactions/dates.ts';
import { emptyStats, FORMATS, readTransactions, type TransactionFormat } from '../../ingest/transactions/readers.ts';
import { backtest, type BacktestResult } from './backtest.ts';
import { pAliveOf, summaryOf } from './bgnbd-baseline.ts';
import { TRANSACTION_FEATURES } from './features.ts';
import { evaluateChurn, type ChurnEvaluation } from './metrics.ts';
import { reasonsFor } from './reasons.ts';
import { tfBackendName } from './tf-backend.ts';
import { TransactionLedger } from './transaction-features.ts';

const USAGE =
  'usage: cvm churn evaluate --transactions FILE --format cdnow|online-retail|generic --calibration-end YYYY-MM-DD --holdout-end YYYY-MM-DD ' +
  '[--customer-col C --date-col D --amount-col A] [--folds 5 | --folds 1 --test-fraction 0.3] [--seed 42] [--steps 1500] [--json]';

function day(flag: string, value: string | undefined): number {
  if (!value) throw new UserError(`--${flag} is required\n${USAGE}`);
  const d = parseIsoDay(value);
  if (!Number.isFinite(d)) throw new UserError(`--${flag} must be a date like 1997-09-30, got '${value}'`);
  return d;
}

function numberFlag(flag: string, value: string | undefined, def: number, ok: (n: number) => boolean): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isFinite(n) || !ok(n)) throw new UserError(`--${flag}: invalid value '${value}'`);
  return n;
}

function row(name: string, e: ChurnEvaluation | null, error?: string): string {
  if (error || !e) return `  ${name.padEnd(14)} ${error ?? 'not evaluated'}`;
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '  n/a');
  return `  ${name.padEnd(14)} ${f(e.auc)}  ${f(e.precisionTopDecile)}     ${f(e.recallTopDecile)}    ${e.liftTopDecile.toFixed(2).padStart(5)}  ${f(e.brier)}  ${f(e.ece)}`;
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      transactions: { type: 'string' },
      format: { type: 'string' },
      'calibration-end': { type: 'string' },
      'holdout-end': { type: 'string' },
      'customer-col': { type: 'string' },
      'date-col': { type: 'string' },
      'amount-col': { type: 'string' },
      'test-fraction': { type: 'string' },
      folds: { type: 'string' },
      seed: { type: 'string' },
      steps: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: false,
  });
  const file = values.transactions;
  if (!file) throw new UserError(`--transactions is required\n${USAGE}`);
  const format = values.format as TransactionFormat | undefined;
  if (format !== undefined && !(FORMATS as readonly string[]).includes(format)) {
    throw new UserError(`--format must be one of ${FORMATS.join(', ')}, got '${format}'`);
  }
  const calibrationEnd = day('calibration-end', values['calibration-end']);
  const holdoutEnd = day('holdout-end', values['holdout-end']);
  if (holdoutEnd <= calibrationEnd) throw new UserError('--holdout-end must be after --calibration-end');
  const testFraction = numberFlag('test-fraction', values['test-fraction'], 0.3, (n) => n > 0 && n < 1);
  const folds = numberFlag('folds', values.folds, 5, (n) => Number.isInteger(n) && n >= 1 && n <= 20);
  const seed = numberFlag('seed', values.seed, 42, Number.isInteger);
  const steps = numberFlag('steps', values.steps, 1500, (n) => Number.isInteger(n) && n > 0);

  const started = Date.now();
  const stats = emptyStats();
  const ledger = await new TransactionLedger().addAll(
    readTransactions(
      file,
      {
        ...(format ? { format } : {}),
        ...(values['customer-col'] ? { customerCol: values['customer-col'] } : {}),
        ...(values['date-col'] ? { dateCol: values['date-col'] } : {}),
        ...(values['amount-col'] ? { amountCol: values['amount-col'] } : {}),
      },
      stats,
    ),
  );
  const rows = ledger.features(calibrationEnd, holdoutEnd);
  if (rows.length === 0) throw new UserError(`no customer in ${file} bought on or before ${formatDay(calibrationEnd)}`);
  const span = ledger.span();
  if (span && span.last < holdoutEnd) {
    ctx.log.warn({ lastPurchase: formatDay(span.last) }, 'the file ends before --holdout-end; late customers look churned');
  }
  const horizonDays = holdoutEnd - calibrationEnd;
  const bt = await backtest(rows, { features: TRANSACTION_FEATURES, horizonDays, seed, folds, testFraction, train: { targetSteps: steps } });

  // BG/NBD on everyone: 1 − P(alive), and E[Y(t)] (the ranking SOURCE.md's AUC 0.7725 uses on CDNOW).
  const labels = Float64Array.from(rows, (r) => r.churned);
  let population: Record<string, ChurnEvaluation> | null = null;
  if (bt.bgnbd) {
    const p = bt.bgnbd.params;
    const t = horizonDays / 7;
    const risk = Float64Array.from(rows, (r) => 1 - pAliveOf(p, summaryOf(r)));
    const expected = Float64Array.from(rows, (r) => {
      const s = summaryOf(r);
      return conditionalExpectedPurchases(p, t, s.x, s.tx, s.T);
    });
    population = {
      p_alive: evaluateChurn(risk, labels),
      // Fewer expected purchases = more churn; negated to rank, so Brier/calibration do not apply.
      expected_purchases: evaluateChurn(expected.map((v) => -v), labels),
    };
  }

  const chosen = bt.chosen ? bt.scorers[bt.chosen] : undefined;
  const examples = chosen ? topExamples(bt, rows, chosen) : [];
  const report = {
    file,
    format: format ?? 'detected',
    read: stats,
    calibration_end: formatDay(calibrationEnd),
    holdout_end: formatDay(holdoutEnd),
    horizon_days: horizonDays,
    customers: rows.length,
    churned: labels.reduce((s, v) => s + v, 0),
    features: TRANSACTION_FEATURES,
    backend: await tfBackendName(),
    seed,
    folds,
    ...(folds === 1 ? { test_fraction: testFraction } : {}),
    train_steps: steps,
    backtest: {
      folds: bt.folds,
      train_customers: bt.trainRows,
      test_customers: bt.testRows,
      test_churned: bt.testPositives,
      candidates: bt.candidates.map((c) => ({ name: c.name, ...(c.error ? { error: c.error } : {}), train_ms: c.trainMs, evaluation: c.evaluation, coefficients: c.coefficients })),
      chosen: bt.chosen,
      why: bt.why,
    },
    bgnbd: bt.bgnbd,
    bgnbd_all_customers: population,
    examples,
    seconds: (Date.now() - started) / 1000,
  };
  if (values.json) {
    ctx.out(JSON.stringify(report, null, 2));
    return 0;
  }
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  ctx.out(`churn evaluate: ${file} (${stats.used} of ${stats.rows} lines used)`);
  ctx.out(`calibration to ${report.calibration_end}, holdout to ${report.holdout_end} (${horizonDays} days); ${rows.length} customers, ${report.churned} churned (${pct(report.churned / rows.length)})`);
  ctx.out(
    bt.folds > 1
      ? `backtest: ${bt.folds}-fold cross-validation, every customer scored by a model that did not see it (seed ${seed}); tfjs backend ${report.backend}`
      : `backtest: ${bt.trainRows} training / ${bt.testRows} held-out customers (seed ${seed}); tfjs backend ${report.backend}`,
  );
  ctx.out('');
  ctx.out(`  ${(bt.folds > 1 ? `all ${bt.testRows}` : `${bt.testRows} held-out`).padEnd(14)} AUC    prec@10%  rec@10%  lift   Brier  ECE`);
  for (const c of bt.candidates) ctx.out(row(c.name, c.evaluation, c.error));
  if (population) {
    if (bt.folds === 1) {
      ctx.out(`  all ${rows.length} customers:`);
      ctx.out(row('p_alive', population.p_alive!));
    }
    const e = population.expected_purchases!;
    ctx.out(`  BG/NBD E[Y(t)] ranking, all ${rows.length} customers: AUC ${e.auc.toFixed(4)}, prec@10% ${e.precisionTopDecile.toFixed(3)}, rec@10% ${e.recallTopDecile.toFixed(3)}`);
    const p = bt.bgnbd!.params;
    ctx.out(`  BG/NBD (weeks): r=${p.r.toFixed(4)} alpha=${p.alpha.toFixed(4)} a=${p.a.toFixed(4)} b=${p.b.toFixed(4)}`);
  }
  ctx.out('');
  ctx.out(`chosen: ${bt.why}`);
  const chosenEval = bt.candidates.find((c) => c.name === bt.chosen)?.evaluation;
  if (chosenEval) {
    ctx.out(`reliability (${bt.folds > 1 ? 'out-of-fold' : 'held-out'}, ${bt.chosen}): predicted → observed (n)`);
    for (const b of chosenEval.reliability) {
      ctx.out(`  [${b.lower.toFixed(1)}, ${b.upper.toFixed(1)})  ${b.meanPredicted.toFixed(3)} → ${b.observedRate.toFixed(3)}  (${b.count})`);
    }
  }
  if (examples.length) {
    ctx.out('highest-risk customers of fold 0 (unseen by its model):');
    for (const e of examples) ctx.out(`  ${e.customer_id}  risk ${e.risk.toFixed(3)}  churned=${e.churned}  ${e.reasons.join('; ')}`);
  }
  ctx.out(`(${report.seconds.toFixed(1)} s)`);
  return 0;
}

function topExamples(bt: BacktestResult, rows: ReturnType<TransactionLedger['features']>, scorer: NonNullable<BacktestResult['scorers'][keyof BacktestResult['scorers']]>) {
  const test = rows.filter((r) => bt.exampleIds.has(r.customer_id));
  const risk = scorer.score(test);
  const order = Array.from(risk.keys()).sort((a, b) => risk[b]! - risk[a]!).slice(0, 3);
  const picked = order.map((i) => test[i]!);
  const reasons = reasonsFor(picked, scorer.contributions(picked), { currency: '', reference: rows });
  return picked.map((r, k) => ({ customer_id: r.customer_id, risk: risk[order[k]!]!, churned: r.churned, reasons: reasons[k]! }));
}
