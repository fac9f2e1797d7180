// Step 7: the event's rows for each table it touches: events, order_items (one per purchase line),
// identities and customers.
import { ok, type PipelineResult } from '../pipeline-result.ts';
import type { CustomerRow, EventRow, IdentityRow, OrderItemRow } from '../table-rows.ts';
import type { IdentifiedEvent } from './identity.ts';

export interface EventRows { event: EventRow; items: OrderItemRow[]; identity: IdentityRow | null; customer: CustomerRow | null }

export function toRows(input: IdentifiedEvent): PipelineResult<EventRows> {
  const e = input.row;
  const items: OrderItemRow[] = input.lines.map((l) => ({
    order_id: e.order_id,
    event_id: e.event_id,
    ts: e.ts,
    site: e.site,
    customer_id: e.customer_id,
    anonymous_id: e.anonymous_id,
    product_id: l.product_id,
    category: l.category,
    quantity: l.quantity,
    price: l.price,
    currency: e.currency,
    price_base: l.price_base,
    country: e.country,
    log_topic: e.log_topic,
    log_partition: e.log_partition,
    log_offset: e.log_offset,
  }));
  return ok({ event: e, items, identity: input.identity, customer: input.customer });
}
