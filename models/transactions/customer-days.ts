// Transactions merged per customer and calendar day. A day counts as a transaction when it has at
// least one purchase line; its value is the day's net amount (purchases minus same-day returns),
// floored at 0. Days with only returns are not transactions. NOTE: returns on a later day than their
// purchase are not netted back (the UCI file does not link a cancellation to its invoice).
import type { TxRow } from '../../ingest/transactions/readers.ts';

interface Day {
  net: number;
  purchase: boolean;
}

export class CustomerDays {
  private readonly byCustomer = new Map<string, Map<number, Day>>();

  add(row: TxRow): void {
    let days = this.byCustomer.get(row.customer);
    if (!days) {
      days = new Map();
      this.byCustomer.set(row.customer, days);
    }
    const d = days.get(row.day);
    if (d) {
      d.net += row.amount;
      d.purchase ||= row.purchase;
    } else days.set(row.day, { net: row.amount, purchase: row.purchase });
  }

  async addAll(batches: AsyncIterable<TxRow[]>): Promise<this> {
    for await (const batch of batches) for (const row of batch) this.add(row);
    return this;
  }

  get customerCount(): number {
    return this.byCustomer.size;
  }

  /** Each customer's transaction days in order, with the day's value. */
  *customers(): Generator<{ id: string; days: number[]; values: number[] }> {
    for (const [id, map] of this.byCustomer) {
      const days = [...map.entries()].filter(([, d]) => d.purchase).sort((p, q) => p[0] - q[0]);
      if (days.length === 0) continue;
      yield { id, days: days.map(([day]) => day), values: days.map(([, d]) => Math.max(d.net, 0)) };
    }
  }
}
