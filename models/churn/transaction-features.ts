// Churn features from a transaction file (models/transactions readers), with the definitions of
// sql/churn/features.sql where a file can support them. Differences, because a file line has only a
// customer, a calendar day and an amount:
// - an "order" is a purchase day (invoices are not carried through), so frequency = purchase_days;
// - a refund is a day with return/cancellation lines, its amount their sum;
// - sessions, carts and reviews do not exist (0; the models leave those inputs out, see TRANSACTION_FEATURES).
// Days are integers (days since 1970-01-01); a transaction on the cut-off day belongs to the calibration.
import type { TxRow } from '../../ingest/transactions/readers.ts';
import type { RawFeatures } from './features.ts';

interface Ledger {
  purchases: Map<number, number>; // day -> gross purchase amount
  returns: Map<number, number>; // day -> returned amount (positive)
}

export class TransactionLedger {
  private readonly customers = new Map<string, Ledger>();

  add(row: TxRow): void {
    let c = this.customers.get(row.customer);
    if (!c) {
      c = { purchases: new Map(), returns: new Map() };
      this.customers.set(row.customer, c);
    }
    if (row.purchase) c.purchases.set(row.day, (c.purchases.get(row.day) ?? 0) + row.amount);
    else c.returns.set(row.day, (c.returns.get(row.day) ?? 0) + Math.abs(row.amount));
  }

  /** Rows one by one or in batches (the readers yield batches to keep the per-row overhead down). */
  async addAll(rows: AsyncIterable<TxRow | TxRow[]> | Iterable<TxRow | TxRow[]>): Promise<this> {
    for await (const item of rows) {
      if (Array.isArray(item)) for (const row of item) this.add(row);
      else this.add(item);
    }
    return this;
  }

  get size(): number {
    return this.customers.size;
  }

  /** Range of purchase days in the ledger, or null when it holds none. */
  span(): { first: number; last: number } | null {
    let first = Infinity;
    let last = -Infinity;
    for (const c of this.customers.values()) {
      for (const d of c.purchases.keys()) {
        if (d < first) first = d;
        if (d > last) last = d;
      }
    }
    return Number.isFinite(first) ? { first, last } : null;
  }

  /**
   * Customers with a purchase on or before `cutoff`, described at the cut-off;
   * churned = no purchase in (cutoff, labelEnd].
   */
  features(cutoff: number, labelEnd: number): RawFeatures[] {
    const out: RawFeatures[] = [];
    const ids = [...this.customers.keys()].sort();
    for (const id of ids) {
      const c = this.customers.get(id)!;
      const days = [...c.purchases.keys()].filter((d) => d <= cutoff).sort((a, b) => a - b);
      if (days.length === 0) continue;
      const first = days[0]!;
      const last = days[days.length - 1]!;
      const inWindow = (d: number, from: number, to: number) => d > cutoff - from && d <= cutoff - to;
      let gross = 0;
      const win = { p30: 0, pp30: 0, p90: 0, pp90: 0, s30: 0, ps30: 0, s90: 0, ps90: 0 };
      for (const d of days) {
        const amount = c.purchases.get(d)!;
        gross += amount;
        if (inWindow(d, 30, 0)) { win.p30++; win.s30 += amount; }
        if (inWindow(d, 60, 30)) { win.pp30++; win.ps30 += amount; }
        if (inWindow(d, 90, 0)) { win.p90++; win.s90 += amount; }
        if (inWindow(d, 180, 90)) { win.pp90++; win.ps90 += amount; }
      }
      let refundCount = 0;
      let refundAmount = 0;
      for (const [d, amount] of c.returns) {
        if (d > cutoff) continue;
        refundCount++;
        refundAmount += amount;
      }
      const gaps = days.slice(1).map((d, k) => d - days[k]!);
      const mean = gaps.length ? gaps.reduce((s, g) => s + g, 0) / gaps.length : 0;
      const std = gaps.length ? Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length) : 0;
      let future = 0;
      for (const d of c.purchases.keys()) if (d > cutoff && d <= labelEnd) future++;
      out.push({
        customer_id: id,
        recency_days: cutoff - last,
        frequency: days.length,
        purchase_days: days.length,
        monetary: gross - refundAmount,
        ipt_mean_days: mean,
        ipt_std_days: std,
        purchases_30d: win.p30,
        purchases_prev_30d: win.pp30,
        purchases_90d: win.p90,
        purchases_prev_90d: win.pp90,
        spend_30d: win.s30,
        spend_prev_30d: win.ps30,
        spend_90d: win.s90,
        spend_prev_90d: win.ps90,
        sessions_30d: 0,
        abandoned_carts_90d: 0,
        review_count: 0,
        review_rating_mean: 0,
        refund_count: refundCount,
        refund_amount: refundAmount,
        tenure_days: cutoff - first,
        x: days.length - 1,
        t_x_days: last - first,
        T_days: cutoff - first,
        churned: future === 0 ? 1 : 0,
      });
    }
    return out;
  }
}
