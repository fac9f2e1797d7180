// The rows step: one order_items row per purchase line, carrying the event's ids, time, place and position.
import { describe, expect, it } from 'vitest';
import { identityStep } from '../transform/steps/identity.ts';
import { toRows } from '../transform/steps/rows.ts';
import { standardEvent } from './transform.step.fixture.ts';

describe('rows step', () => {
  it('a purchase gives its events row and an order line row per item', () => {
    const s = standardEvent(
      { type: 'purchase', customer_id: 'c1', context: { country: 'DE' }, properties: { order_id: 'o1', total: 30, currency: 'EUR', items: [{ product_id: 'p1', quantity: 1, price: 10 }, { product_id: 'p2', quantity: 2, price: 10 }] } },
      {},
      12,
    );
    const identified = identityStep({})(s);
    if (identified.kind !== 'ok') throw new Error(identified.kind);
    const r = toRows(identified.value);
    if (r.kind !== 'ok') throw new Error(r.kind);
    expect(r.value.event).toBe(s.row);
    expect(r.value.items).toEqual([
      { order_id: 'o1', event_id: s.row.event_id, ts: '2024-03-01 10:00:00.000', site: 'shop', customer_id: 'c1', anonymous_id: 'a1', product_id: 'p1', category: '', quantity: 1, price: 10, currency: 'EUR', price_base: 10.8, country: 'DE', log_topic: 'events', log_partition: 0, log_offset: 12 },
      { order_id: 'o1', event_id: s.row.event_id, ts: '2024-03-01 10:00:00.000', site: 'shop', customer_id: 'c1', anonymous_id: 'a1', product_id: 'p2', category: '', quantity: 2, price: 10, currency: 'EUR', price_base: 10.8, country: 'DE', log_topic: 'events', log_partition: 0, log_offset: 12 },
    ]);
    expect([r.value.identity, r.value.customer]).toEqual([null, null]);
  });

  it('other events have no order lines', () => {
    const identified = identityStep({})(standardEvent({}));
    expect(identified.kind === 'ok' && toRows(identified.value)).toMatchObject({ kind: 'ok', value: { items: [] } });
  });
});
