// Reads churn features from ClickHouse (sql/churn/features.sql) at a cut-off time.
import type { ClickHouse } from '../../lib/clickhouse.ts';
import { chTime } from '../../lib/clickhouse.ts';
import { sql } from '../../lib/sql.ts';
import type { RawFeatures } from './features.ts';

const NUMERIC: readonly (keyof RawFeatures)[] = [
  'recency_days', 'frequency', 'purchase_days', 'monetary', 'ipt_mean_days', 'ipt_std_days',
  'purchases_30d', 'purchases_prev_30d', 'purchases_90d', 'purchases_prev_90d',
  'spend_30d', 'spend_prev_30d', 'spend_90d', 'spend_prev_90d',
  'sessions_30d', 'abandoned_carts_90d', 'review_count', 'review_rating_mean', 'refund_count', 'refund_amount',
  'tenure_days', 'x', 't_x_days', 'T_days', 'churned',
];

/**
 * Features of every customer with a purchase up to `cutoff`; `churned` = no purchase in (cutoff, labelEnd].
 * Pass labelEnd = cutoff when scoring the present (the label is then meaningless).
 */
export async function queryChurnFeatures(ch: ClickHouse, cutoff: Date, labelEnd: Date): Promise<RawFeatures[]> {
  const rows = await ch.rows<Record<string, unknown>>(sql('churn/features'), {
    cutoff: chTime(cutoff.getTime()),
    label_end: chTime(labelEnd.getTime()),
  });
  // 64-bit integers arrive as JSON strings; every feature is a plain number from here on.
  return rows.map((r) => {
    const out = { customer_id: String(r.customer_id) } as RawFeatures;
    for (const k of NUMERIC) (out as unknown as Record<string, number>)[k] = Number(r[k] ?? 0);
    return out;
  });
}
