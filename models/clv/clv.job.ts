// Scheduled CLV job: purchase summary per customer from events_resolved (computed in ClickHouse), BG/NBD
// and Gamma-Gamma fitted on it, and every customer's P(alive), expected purchases, expected spend and
// discounted CLV written to clv_scores under the run id.
import { chTime } from '../../lib/clickhouse.ts';
import { sql } from '../../lib/sql.ts';
import type { ModelJob, ModelJobContext, ModelJobResult } from '../job.ts';
import { FitError } from './fit-error.ts';
import { fitAndScoreClv } from './fit-and-score.ts';
import { monthlySchedule } from './lifetime-value.ts';
import { MIN_REPEAT_BUYERS } from './robust-fit.ts';
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
    if (n === 0) throw new FitError('no customers with a purchase up to the as-of time: nothing to score');
    const schedule = monthlySchedule(horizonDays, discountRate, DAYS_PER_WEEK);
    const { bg, gg, fit, repeatBuyers, scores: s } = fitAndScoreClv({ x, tx, T, zbar }, schedule);
    if (fit === 'penalised') log.warn({ runId, bgnbd: bg.fit, gammagamma: gg.fit }, 'clv fitted with a penalty: the plain fit was not usable on this data');
    log.info({ runId, customers: n, fit, bgnbd: bg.params, gammagamma: gg.params }, 'clv models fitted');

    const computedAt = chTime(Date.now()); // wall time of the computation, not the as-of instant
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
        repeat_buyers: repeatBuyers,
        // 'penalised': the plain maximum was on a boundary or not confirmed (e.g. a new shop); see each model's fit.
        fit,
        bgnbd: {
          r: round(bg.params.r),
          alpha: round(bg.params.alpha),
          a: round(bg.params.a),
          b: round(bg.params.b),
          loglik: round(bg.logLik, 9),
          starts_converged: bg.startsConverged,
          starts_tried: bg.startsTried,
          fit: bg.fit,
        },
        gammagamma: {
          p: round(gg.params.p),
          q: round(gg.params.q),
          gamma: round(gg.params.gamma),
          loglik: round(gg.logLik, 9),
          customers: gg.customers,
          starts_converged: gg.startsConverged,
          starts_tried: gg.startsTried,
          fit: gg.fit,
        },
        expected_purchases_total: round(totalPurchases),
        clv: { total: round(totalClv), mean: round(totalClv / n), ...quantiles(s.clv, [0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1]) },
        p_alive: quantiles(s.pAlive, [0.1, 0.5, 0.9]),
      },
    };
  },
};
