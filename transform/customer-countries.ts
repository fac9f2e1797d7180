// Customers' known countries, for events that name none: loaded from `customers`, then kept current by the
// identify events that pass. Bounded: past the cap, the earliest entry makes room.
import type { ClickHouse } from '../lib/clickhouse.ts';
import { sql } from '../lib/sql.ts';

export class CustomerCountries {
  private readonly byCustomer = new Map<string, string>();

  constructor(private readonly cap = 1_000_000) {}

  async load(ch: ClickHouse): Promise<void> {
    const rows = await ch.rows<{ customer_id: string; country: string }>(sql('transform/customer-countries'), { cap: this.cap });
    this.byCustomer.clear();
    for (const r of rows) this.byCustomer.set(r.customer_id, r.country);
  }

  /** Erasure: the cached countries of these customers. */
  forget(customerIds: readonly string[]): void {
    for (const c of customerIds) this.byCustomer.delete(c);
  }

  holdsAny(customerIds: readonly string[]): boolean {
    return customerIds.some((c) => this.byCustomer.has(c));
  }

  readonly get = (customerId: string): string | undefined => this.byCustomer.get(customerId);

  readonly learn = (customerId: string, country: string): void => {
    if (this.byCustomer.size >= this.cap && !this.byCustomer.has(customerId)) {
      const first = this.byCustomer.keys().next();
      if (!first.done) this.byCustomer.delete(first.value);
    }
    this.byCustomer.set(customerId, country);
  };
}
