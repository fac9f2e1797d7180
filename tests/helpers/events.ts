// Builders for contract-valid events in tests.
import crypto from 'node:crypto';
import { FIXTURE_NOW } from './runtime.ts';

export function purchase(customerId: string, at: Date | string, total: number, opts: { currency?: string; orderId?: string; items?: Array<{ product_id: string; quantity: number; price: number; category?: string }> } = {}) {
  const ts = typeof at === 'string' ? at : at.toISOString();
  const items = opts.items ?? [{ product_id: 'p-1', quantity: 1, price: total, category: 'Misc' }];
  return {
    event_id: crypto.randomUUID(),
    type: 'purchase',
    ts,
    customer_id: customerId,
    properties: { order_id: opts.orderId ?? `o-${crypto.randomUUID().slice(0, 8)}`, items, total, currency: opts.currency ?? 'USD' },
  };
}

export function event(type: string, who: { customer_id?: string; anonymous_id?: string }, properties: Record<string, unknown> = {}, at: Date | string = new Date(FIXTURE_NOW)) {
  return { event_id: crypto.randomUUID(), type, ts: typeof at === 'string' ? at : at.toISOString(), ...who, properties };
}

export function daysAgo(n: number, from = FIXTURE_NOW): Date {
  return new Date(from - n * 86_400_000);
}

/**
 * A batch as the shop's page sends it once its back end vouched for the customers: every identify and
 * alias carries the site's HMAC of its customer id (identity verification; unsigned ones change nothing).
 */
export function signedBatch(secrets: { sign(site: string, customerId: string): string }, site: string, batch: unknown[]): unknown[] {
  return batch.map((e) => {
    const ev = e as { type?: unknown; customer_id?: unknown };
    if ((ev.type === 'identify' || ev.type === 'alias') && typeof ev.customer_id === 'string' && ev.customer_id !== '') {
      return { ...(e as object), identity_signature: secrets.sign(site, ev.customer_id) };
    }
    return e;
  });
}
