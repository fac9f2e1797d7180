// Churn features: the raw per-customer figures (from sql/churn/features.sql or from a transaction file),
// the model inputs derived from them, and how each input reads as a reason a person understands.

/** Per-customer figures at a cut-off time. Money is in the base currency, durations in days. */
export interface RawFeatures {
  customer_id: string;
  recency_days: number;
  frequency: number; // orders up to the cut-off
  purchase_days: number; // distinct days with a purchase (BG/NBD merges same-day orders)
  monetary: number; // net spend: purchases minus refunds
  ipt_mean_days: number; // mean gap between purchase days (0 with one purchase day)
  ipt_std_days: number;
  purchases_30d: number;
  purchases_prev_30d: number;
  purchases_90d: number;
  purchases_prev_90d: number;
  spend_30d: number;
  spend_prev_30d: number;
  spend_90d: number;
  spend_prev_90d: number;
  sessions_30d: number;
  abandoned_carts_90d: number;
  review_count: number;
  review_rating_mean: number; // 0 without reviews
  refund_count: number;
  refund_amount: number;
  tenure_days: number; // cut-off minus first purchase
  // BG/NBD summary in days: repeat purchase days, first→last purchase day, first purchase→cut-off.
  x: number;
  t_x_days: number;
  T_days: number;
  /** 1 = no purchase in (cut-off, label end]; only meaningful when the label window is in the past. */
  churned: number;
}

export type FeatureName =
  | 'recency_days'
  | 'frequency'
  | 'monetary'
  | 'ipt_mean_days'
  | 'ipt_std_days'
  | 'purchases_30d'
  | 'purchases_90d'
  | 'spend_90d'
  | 'purchase_trend_30d'
  | 'purchase_trend_90d'
  | 'spend_trend_30d'
  | 'spend_trend_90d'
  | 'sessions_30d'
  | 'abandoned_carts_90d'
  | 'review_sentiment'
  | 'refund_count'
  | 'refund_amount'
  | 'tenure_days';

export interface ReasonContext {
  currency: string;
}

export interface FeatureSpec {
  name: FeatureName;
  /** Needs behaviour events (sessions, carts, reviews) that a plain transaction file does not have. */
  needsEvents: boolean;
  value(r: RawFeatures): number;
  /**
   * Which side of the average reads as a churn reason. A positive contribution from the other side (e.g. a
   * sign flipped by correlated inputs: "7 purchases in the last 30 days") is not phrased as a reason.
   */
  riskWhen: 'high' | 'low' | 'either';
  /** The fact behind this input for one customer, or null when there is nothing to say (e.g. no refunds). */
  describe(r: RawFeatures, ctx: ReasonContext): string | null;
}

// Skewed counts and amounts enter the models on a log scale so one big spender does not dominate the
// standardisation; trends enter as (now − before) / (now + before), bounded to [−1, 1].
const log1p = (v: number) => Math.log1p(Math.max(0, v));
const signedLog1p = (v: number) => Math.sign(v) * Math.log1p(Math.abs(v));
const trend = (now: number, before: number) => (now + before > 0 ? (now - before) / (now + before) : 0);

const days = (d: number) => Math.round(d);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
function money(v: number, ctx: ReasonContext): string {
  return ctx.currency ? `${v.toFixed(2)} ${ctx.currency}` : v.toFixed(2);
}

function changeText(what: string, now: number, before: number, windowDays: number): string {
  if (now + before === 0) return `no ${what === 'spend' ? 'spend' : 'purchases'} in the last ${windowDays * 2} days`;
  if (before <= 0) return `${what} up from nothing in the previous ${windowDays} days`;
  const pct = Math.round((Math.abs(now - before) / before) * 100);
  if (now < before) return `${what} down ${pct}% vs previous ${windowDays} days`;
  if (now > before) return `${what} up ${pct}% vs previous ${windowDays} days`;
  return `${what} flat vs previous ${windowDays} days`;
}

export const FEATURES: readonly FeatureSpec[] = [
  {
    name: 'recency_days',
    riskWhen: 'high',
    needsEvents: false,
    value: (r) => log1p(r.recency_days),
    describe: (r) => `no purchase for ${plural(days(r.recency_days), 'day')}`,
  },
  {
    name: 'frequency',
    riskWhen: 'low',
    needsEvents: false,
    value: (r) => log1p(r.frequency),
    describe: (r) => (r.frequency <= 1 ? 'only one purchase so far' : `${r.frequency} purchases so far`),
  },
  {
    name: 'monetary',
    riskWhen: 'low',
    needsEvents: false,
    value: (r) => signedLog1p(r.monetary),
    describe: (r, ctx) => `net spend ${money(r.monetary, ctx)} to date`,
  },
  {
    name: 'ipt_mean_days',
    riskWhen: 'high',
    needsEvents: false,
    value: (r) => log1p(r.ipt_mean_days),
    describe: (r) => (r.purchase_days < 2 ? 'no repeat purchase yet' : `buys every ${plural(days(r.ipt_mean_days), 'day')} on average`),
  },
  {
    name: 'ipt_std_days',
    riskWhen: 'high',
    needsEvents: false,
    value: (r) => log1p(r.ipt_std_days),
    describe: (r) => (r.purchase_days < 3 ? null : `irregular gaps between purchases (±${plural(days(r.ipt_std_days), 'day')})`),
  },
  {
    name: 'purchases_30d',
    riskWhen: 'low',
    needsEvents: false,
    value: (r) => log1p(r.purchases_30d),
    describe: (r) => (r.purchases_30d === 0 ? 'no purchase in the last 30 days' : `${plural(r.purchases_30d, 'purchase')} in the last 30 days`),
  },
  {
    name: 'purchases_90d',
    riskWhen: 'low',
    needsEvents: false,
    value: (r) => log1p(r.purchases_90d),
    describe: (r) => (r.purchases_90d === 0 ? 'no purchase in the last 90 days' : `${plural(r.purchases_90d, 'purchase')} in the last 90 days`),
  },
  {
    name: 'spend_90d',
    riskWhen: 'low',
    needsEvents: false,
    value: (r) => signedLog1p(r.spend_90d),
    describe: (r, ctx) => `spend ${money(r.spend_90d, ctx)} in the last 90 days`,
  },
  {
    name: 'purchase_trend_30d',
    riskWhen: 'low',
    needsEvents: false,
    value: (r) => trend(r.purchases_30d, r.purchases_prev_30d),
    describe: (r) => changeText('purchases', r.purchases_30d, r.purchases_prev_30d, 30),
  },
  {
    name: 'purchase_trend_90d',
    riskWhen: 'low',
    needsEvents: false,
    value: (r) => trend(r.purchases_90d, r.purchases_prev_90d),
    describe: (r) => changeText('purchases', r.purchases_90d, r.purchases_prev_90d, 90),
  },
  {
    name: 'spend_trend_30d',
    riskWhen: 'low',
    needsEvents: false,
    value: (r) => trend(Math.max(0, r.spend_30d), Math.max(0, r.spend_prev_30d)),
    describe: (r) => changeText('spend', Math.max(0, r.spend_30d), Math.max(0, r.spend_prev_30d), 30),
  },
  {
    name: 'spend_trend_90d',
    riskWhen: 'low',
    needsEvents: false,
    value: (r) => trend(Math.max(0, r.spend_90d), Math.max(0, r.spend_prev_90d)),
    describe: (r) => changeText('spend', Math.max(0, r.spend_90d), Math.max(0, r.spend_prev_90d), 90),
  },
  {
    name: 'sessions_30d',
    riskWhen: 'low',
    needsEvents: true,
    value: (r) => log1p(r.sessions_30d),
    describe: (r) => (r.sessions_30d === 0 ? 'no visits in the last 30 days' : `${plural(r.sessions_30d, 'visit')} in the last 30 days`),
  },
  {
    name: 'abandoned_carts_90d',
    riskWhen: 'high',
    needsEvents: true,
    value: (r) => log1p(r.abandoned_carts_90d),
    describe: (r) => (r.abandoned_carts_90d === 0 ? null : `${plural(r.abandoned_carts_90d, 'abandoned cart')} in the last 90 days`),
  },
  {
    name: 'review_sentiment',
    riskWhen: 'low',
    needsEvents: true,
    // Centred on the scale midpoint so "no reviews" sits between a happy and an unhappy reviewer.
    value: (r) => (r.review_count > 0 ? r.review_rating_mean - 3 : 0),
    describe: (r) =>
      r.review_count === 0 ? null : `mean review rating ${r.review_rating_mean.toFixed(1)}/5 (${plural(r.review_count, 'review')})`,
  },
  {
    name: 'refund_count',
    riskWhen: 'high',
    needsEvents: false,
    value: (r) => log1p(r.refund_count),
    describe: (r) => (r.refund_count === 0 ? null : `${plural(r.refund_count, 'refund')} so far`),
  },
  {
    name: 'refund_amount',
    riskWhen: 'high',
    needsEvents: false,
    value: (r) => log1p(r.refund_amount),
    describe: (r, ctx) => (r.refund_amount <= 0 ? null : `refunds of ${money(r.refund_amount, ctx)}`),
  },
  {
    name: 'tenure_days',
    riskWhen: 'either',
    needsEvents: false,
    value: (r) => log1p(r.tenure_days),
    describe: (r) => `first purchase ${plural(days(r.tenure_days), 'day')} ago`,
  },
];

export const ALL_FEATURES: readonly FeatureName[] = FEATURES.map((f) => f.name);
/** What a transaction file (orders and refunds only) can support. */
export const TRANSACTION_FEATURES: readonly FeatureName[] = FEATURES.filter((f) => !f.needsEvents).map((f) => f.name);

export function featureSpec(name: FeatureName): FeatureSpec {
  const spec = FEATURES.find((f) => f.name === name);
  if (!spec) throw new Error(`unknown churn feature ${name}`);
  return spec;
}

/** Model input matrix (row-major, rows × names.length) from raw figures. */
export function featureMatrix(rows: readonly RawFeatures[], names: readonly FeatureName[]): Float64Array {
  const specs = names.map(featureSpec);
  const out = new Float64Array(rows.length * specs.length);
  rows.forEach((r, i) => specs.forEach((s, j) => (out[i * specs.length + j] = s.value(r))));
  return out;
}
