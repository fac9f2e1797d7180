// Scheduled CLV job: purchase summary per customer from events_resolved (computed in ClickHouse), BG/NBD
// and Gamma-Gamma fitted on it, and every customer's P(alive), expected purchases, expected spend and
// discounted CLV written to clv_scores under the run id.
import { chTime } from '../../lib/clickhouse.ts';
import { sql } from '../../lib/sql.ts';
import type { ModelJob, ModelJobContext, ModelJobResult } from '../job.ts';
import { fitBgNbd } from './bgnbd.ts';
import { fitGammaGamma, repeatBuyers } from './gamma-gamma.ts';
import { monthlySchedule, scoreCustomers } from './lifetime-value.ts';

/** Below this many repeat buyers the fitted parameters are noise; the run fails instead. */
export const MIN_REPEAT_BUYERS = 20;
const INSERT_BATCH = 100_000;
const DAYS_PER_WEEK = 7;

interface SummaryRow {
  customer_id: string;
  frequency: number;
  recency_days: number;
  age_days: number;
  monetary: number;
}

function quantiles(values: Float64Array, qs: number[]): Record<string, number> {
  const sorted = Float64Array.from(values).sort();
  const out: Record<string, number> = {};
  for (const q of qs) {
    // Linear interpolation between closest ranks (numpy's default).
    const pos = q * (sorted.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, sorted.length - 1);
    const v = sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
    out[`p${Math.round(q * 100)}`] = round(v);
  }
  return out;
}

function round(v: number, digits = 7): number {
  return Number.isFinite(v) ? Number(v.toPrecision(digits)) : v;
}

export const clvJob: ModelJob = {
  name: 'clv',
  version: '1.0.0',
  async run(ctx: ModelJobContext): Promise<ModelJobResult> {
    const { ch, config, log, runId, now } = ctx;
    const horizonDays = config.models.clvHorizonDays;
    const discountRate = config.models.clvDiscountRate;
    const rows = await ch.rows<SummaryRow>(sql('clv/summary'), { as_of: chTime(now.getTime()) });
    const n = rows.length;
    const x = new Float64Array(n);
    const tx = new Float64Array(n);
    const T = new Float64Array(n);
    const zbar = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      x[i] = Number(r.frequency);
      tx[i] = Number(r.recency_days) / DAYS_PER_WEEK;
      T[i] = Number(r.age_days) / DAYS_PER_WEEK;
      zbar[i] = Number(r.monetary);
    }
    const spenders = repeatBuyers(x, zbar);
    if (spenders.x.length < MIN_REPEAT_BUYERS) {
      throw new Error(
        `too little purchase history to fit CLV: ${spenders.x.length} repeat buyers with a positive spend among ${n} customers ` +
          `(need at least ${MIN_REPEAT_BUYERS})`,
      );
    }
    const bg = fitBgNbd({ x, tx, T });
    const gg = fitGammaGamma(spenders);
    if (!(gg.params.q > 1)) {
      throw new Error(`Gamma-Gamma fit has q = ${gg.params.q.toFixed(3)} <= 1: the population mean spend is infinite, so CLV is undefined`);
    }
    log.info({ runId, customers: n, bgnbd: bg.params, gammagamma: gg.params }, 'clv models fitted');

    const schedule = monthlySchedule(horizonDays, discountRate, DAYS_PER_WEEK);
    const s = scoreCustomers(bg.params, gg.params, { x, tx, T, zbar }, schedule);
    const computedAt = chTime(Date.now());
    for (let start = 0; start < n; start += INSERT_BATCH) {
      const batch = [];
      for (let i = start; i < Math.min(n, start + INSERT_BATCH); i++) {
        batch.push({
          run_id: runId,
          customer_id: rows[i]!.customer_id,
          frequency: x[i]!,
          recency_weeks: tx[i]!,
          T_weeks: T[i]!,
          monetary: zbar[i]!,
          p_alive: s.pAlive[i]!,
          expected_purchases: s.expectedPurchases[i]!,
          expected_spend: s.expectedSpend[i]!,
          clv: s.clv[i]!,
          computed_at: computedAt,
        });
      }
      await ch.insert('clv_scores', batch);
    }

    let totalClv = 0;
    let totalPurchases = 0;
    for (let i = 0; i < n; i++) {
      totalClv += s.clv[i]!;
      totalPurchases += s.expectedPurchases[i]!;
    }
    return {
      rowsWritten: n,
      params: { horizon_days: horizonDays, discount_rate_annual: discountRate, time_unit: 'week', min_repeat_buyers: MIN_REPEAT_BUYERS },
      metrics: {
        customers: n,
        repeat_buyers: spenders.x.length,
        bgnbd: {
          r: round(bg.params.r),
          alpha: round(bg.params.alpha),
          a: round(bg.params.a),
          b: round(bg.params.b),
          loglik: round(bg.logLik, 9),
          starts_converged: bg.startsConverged,
          starts_tried: bg.startsTried,
        },
        gammagamma: {
          p: round(gg.params.p),
          q: round(gg.params.q),
          gamma: round(gg.params.gamma),
          loglik: round(gg.logLik, 9),
          customers: gg.customers,
          starts_converged: gg.startsConverged,
          starts_tried: gg.startsTried,
        },
        expected_purchases_total: round(totalPurchases),
        clv: { total: round(totalClv), mean: round(totalClv / n), ...quantiles(s.clv, [0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1]) },
        p_alive: quantiles(s.pAlive, [0.1, 0.5, 0.9]),
      },
    };
  },
};
