// `cvm clv fit`: fit BG/NBD + Gamma-Gamma on a transaction file for an analyst, optionally scoring the
// fit on a holdout period. Nothing is written to the store.
import { parseArgs } from 'node:util';
import { UserError, type CliContext } from '../../lib/cli-context.ts';
import { CustomerDays } from '../transactions/customer-days.ts';
import { formatDay, parseIsoDay } from '../../ingest/transactions/dates.ts';
import { emptyStats, FORMATS, readTransactions, type ReadStats, type TransactionFormat } from '../../ingest/transactions/readers.ts';
import { buildSummary, type RfmSummary } from '../transactions/rfm-summary.ts';
import { conditionalExpectedPurchases, fitBgNbd, type BgNbdFit } from './bgnbd.ts';
import { fitGammaGamma, repeatBuyers, type GammaGammaFit } from './gamma-gamma.ts';
import { auc, correlation } from './holdout.ts';

const USAGE = `Usage: cvm clv fit --transactions FILE --calibration-end YYYY-MM-DD [--holdout-end YYYY-MM-DD]
                   [--format cdnow|online-retail|generic] [--customer-col C --date-col D --amount-col A] [--json]

Fits BG/NBD (purchase frequency, dropout) and Gamma-Gamma (spend) by maximum likelihood on the
customers whose first purchase is on or before the calibration end; time is in weeks. With a holdout
end, compares the predicted repeat purchases in (calibration end, holdout end] with what happened.
Files may be gzipped. Without --format the layout is guessed from the first line.`;

export interface HoldoutReport {
  weeks: number;
  predicted_repeat_transactions: number;
  actual_repeat_transactions: number;
  correlation: number;
  auc_any_purchase: number;
  customers_active: number;
}

export interface ClvFitReport {
  customers: number;
  calibration_end: string;
  holdout_end?: string;
  input: {
    rows: number;
    used: number;
    skipped: { no_customer: number; bad_date: number; bad_amount: number; malformed: number };
    customers_first_after_calibration: number;
  };
  calibration: { repeat_buyers: number; repeat_transactions: number };
  bgnbd: { r: number; alpha: number; a: number; b: number; loglik: number; starts_converged: string };
  gammagamma: { p: number; q: number; gamma: number; loglik: number; customers: number; starts_converged: string };
  holdout?: HoldoutReport;
  /** Fits that are valid but sit at a limit of the model, said in words. */
  warnings: string[];
}

/** A maximum at a parameter limit still predicts well, but its parameters must not be read one by one. */
export function fitWarnings(bg: BgNbdFit, gg: GammaGammaFit): string[] {
  const out: string[] = [];
  const meanDrop = bg.params.a / (bg.params.a + bg.params.b);
  if (meanDrop < 1e-4) {
    out.push(`BG/NBD: mean dropout probability a/(a+b) = ${meanDrop.toExponential(2)}; the fit is at the no-dropout (NBD) limit, so a and b are not identified separately`);
  }
  if (!(gg.params.q > 1)) out.push(`Gamma-Gamma: q = ${gg.params.q.toFixed(3)} <= 1, so the population mean spend is infinite`);
  return out;
}

function round(v: number, digits = 7): number {
  return Number.isFinite(v) ? Number(v.toPrecision(digits)) : v;
}

function parseDate(flag: string, value: string | undefined): number | null {
  if (value === undefined) return null;
  const day = parseIsoDay(value);
  if (!Number.isFinite(day)) throw new UserError(`--${flag} must be a date like 1997-09-30, got '${value}'`);
  return day;
}

/** Holdout figures: sums, per-customer correlation, and AUC of the prediction for "bought again at all". */
export function holdoutReport(s: RfmSummary, fit: BgNbdFit): HoldoutReport {
  if (s.holdoutEnd === null) throw new Error('summary has no holdout');
  const t = (s.holdoutEnd - s.calibrationEnd) / s.unitDays;
  const n = s.x.length;
  const predicted = new Float64Array(n);
  const active: boolean[] = new Array<boolean>(n);
  let sumP = 0;
  let sumA = 0;
  let nActive = 0;
  for (let i = 0; i < n; i++) {
    predicted[i] = conditionalExpectedPurchases(fit.params, t, s.x[i]!, s.tx[i]!, s.T[i]!);
    sumP += predicted[i]!;
    sumA += s.holdout[i]!;
    active[i] = s.holdout[i]! > 0;
    if (active[i]) nActive++;
  }
  return {
    weeks: round(t, 6),
    predicted_repeat_transactions: round(sumP, 6),
    actual_repeat_transactions: sumA,
    correlation: round(correlation(predicted, s.holdout), 4),
    auc_any_purchase: round(auc(predicted, active), 4),
    customers_active: nActive,
  };
}

function inputReport(s: ReadStats, late: number): ClvFitReport['input'] {
  return {
    rows: s.rows,
    used: s.used,
    skipped: { no_customer: s.skippedNoCustomer, bad_date: s.skippedBadDate, bad_amount: s.skippedBadAmount, malformed: s.skippedMalformed },
    customers_first_after_calibration: late,
  };
}

export async function fitFile(opts: {
  file: string;
  format?: TransactionFormat;
  customerCol?: string;
  dateCol?: string;
  amountCol?: string;
  calibrationEnd: number;
  holdoutEnd: number | null;
}): Promise<{ report: ClvFitReport; summary: RfmSummary; bg: BgNbdFit; gg: GammaGammaFit }> {
  const stats = emptyStats();
  const days = await new CustomerDays().addAll(readTransactions(opts.file, opts, stats));
  const summary = buildSummary(days, opts.calibrationEnd, opts.holdoutEnd);
  const n = summary.ids.length;
  if (n === 0) {
    throw new UserError(`no customer in ${opts.file} made a first purchase on or before ${formatDay(opts.calibrationEnd)} (${stats.used} usable rows)`);
  }
  const bg = fitBgNbd(summary);
  const gg = fitGammaGamma(repeatBuyers(summary.x, summary.zbar));
  let repeatTx = 0;
  let repeaters = 0;
  for (let i = 0; i < n; i++) {
    repeatTx += summary.x[i]!;
    if (summary.x[i]! > 0) repeaters++;
  }
  const report: ClvFitReport = {
    customers: n,
    calibration_end: formatDay(opts.calibrationEnd),
    ...(opts.holdoutEnd !== null ? { holdout_end: formatDay(opts.holdoutEnd) } : {}),
    input: inputReport(stats, summary.excludedLate),
    calibration: { repeat_buyers: repeaters, repeat_transactions: repeatTx },
    bgnbd: {
      r: round(bg.params.r),
      alpha: round(bg.params.alpha),
      a: round(bg.params.a),
      b: round(bg.params.b),
      loglik: round(bg.logLik, 9),
      starts_converged: `${bg.startsConverged}/${bg.startsTried}`,
    },
    gammagamma: {
      p: round(gg.params.p),
      q: round(gg.params.q),
      gamma: round(gg.params.gamma),
      loglik: round(gg.logLik, 9),
      customers: gg.customers,
      starts_converged: `${gg.startsConverged}/${gg.startsTried}`,
    },
    ...(opts.holdoutEnd !== null ? { holdout: holdoutReport(summary, bg) } : {}),
    warnings: fitWarnings(bg, gg),
  };
  return { report, summary, bg, gg };
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        transactions: { type: 'string' },
        format: { type: 'string' },
        'customer-col': { type: 'string' },
        'date-col': { type: 'string' },
        'amount-col': { type: 'string' },
        'calibration-end': { type: 'string' },
        'holdout-end': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UserError(`${(err as Error).message}\n\n${USAGE}`);
  }
  if (values.help) {
    ctx.out(USAGE);
    return 0;
  }
  if (!values.transactions) throw new UserError(`--transactions FILE is required\n\n${USAGE}`);
  if (values.format !== undefined && !(FORMATS as readonly string[]).includes(values.format)) {
    throw new UserError(`unknown format '${values.format}'; use one of ${FORMATS.join(', ')}`);
  }
  const calibrationEnd = parseDate('calibration-end', values['calibration-end']);
  if (calibrationEnd === null) throw new UserError(`--calibration-end YYYY-MM-DD is required\n\n${USAGE}`);
  const holdoutEnd = parseDate('holdout-end', values['holdout-end']);
  if (holdoutEnd !== null && holdoutEnd <= calibrationEnd) throw new UserError('--holdout-end must be after --calibration-end');

  const started = Date.now();
  const { report } = await fitFile({
    file: values.transactions,
    ...(values.format !== undefined ? { format: values.format as TransactionFormat } : {}),
    ...(values['customer-col'] !== undefined ? { customerCol: values['customer-col'] } : {}),
    ...(values['date-col'] !== undefined ? { dateCol: values['date-col'] } : {}),
    ...(values['amount-col'] !== undefined ? { amountCol: values['amount-col'] } : {}),
    calibrationEnd,
    holdoutEnd,
  });
  ctx.log.info({ customers: report.customers, ms: Date.now() - started }, 'clv fit done');
  if (values.json) {
    ctx.out(JSON.stringify(report, null, 2));
    return 0;
  }
  const b = report.bgnbd;
  const g = report.gammagamma;
  ctx.out(`customers ${report.customers} (first purchase by ${report.calibration_end}); repeat buyers ${report.calibration.repeat_buyers}, repeat transactions ${report.calibration.repeat_transactions}`);
  ctx.out(`BG/NBD       r=${b.r} alpha=${b.alpha} a=${b.a} b=${b.b}  loglik=${b.loglik}  (starts converged ${b.starts_converged})`);
  ctx.out(`Gamma-Gamma  p=${g.p} q=${g.q} gamma=${g.gamma}  loglik=${g.loglik}  on ${g.customers} repeat buyers  (starts converged ${g.starts_converged})`);
  for (const w of report.warnings) ctx.out(`warning: ${w}`);
  const h = report.holdout;
  if (h) {
    ctx.out(`holdout to ${report.holdout_end} (${h.weeks} weeks): predicted ${h.predicted_repeat_transactions.toFixed(1)} vs actual ${h.actual_repeat_transactions} repeat transactions; ` +
      `correlation ${h.correlation}; AUC(any purchase) ${h.auc_any_purchase} (${h.customers_active} active)`);
  }
  return 0;
}
