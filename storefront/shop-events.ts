// Server-side events of the shop (identify at sign-up and login, purchase when an order is paid,
// refund when paid money goes back), sent the way a shop back end sends them. Where this process runs
// the collector (cvm start), they are appended to its event log directly and awaited, so a transition
// is answered only once its event is durable; elsewhere they go through CvmClient to the collector.
// Event ids are derived from the order id, so a re-sent event (reconcile after a crash) folds into one.
import { randomUUID } from 'node:crypto';
import { partitionKey, validateEvent, type CollectedRecord, type CvmEvent } from '../ingest/contract.ts';
import { CvmClient, stableEventId } from '../ingest/server-client.ts';
import type { EventLog } from '../lib/eventlog/types.ts';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';

const LIBRARY = { name: 'cvm-shop', version: '0.1.0' };

export interface ShopEventSink {
  readonly kind: 'log' | 'client';
  send(events: CvmEvent[]): Promise<void>;
  close(): Promise<void>;
}

export class EventLogSink implements ShopEventSink {
  readonly kind = 'log';
  constructor(private readonly eventLog: EventLog, private readonly config: Config) {}

  async send(events: CvmEvent[]): Promise<void> {
    if (!events.length) return;
    const receivedAt = Date.now();
    await this.eventLog.append(
      this.config.topics.events,
      events.map((event) => {
        const rec: CollectedRecord = { v: 1, site: this.config.keys.demoSite, received_at: receivedAt, source: 'server', user_agent: `${LIBRARY.name}/${LIBRARY.version}`, event };
        return { key: partitionKey(event), value: JSON.stringify(rec) };
      }),
    );
  }

  async close(): Promise<void> {}
}

export class ClientSink implements ShopEventSink {
  readonly kind = 'client';
  private readonly client: CvmClient;
  /** identitySecret: the site's, so the shop's identify calls are signed like any verified back end's. */
  constructor(host: string, key: string, log: Logger, identitySecret?: string) {
    this.client = new CvmClient({ host, key, log, flushIntervalMs: 200, ...(identitySecret ? { identitySecret } : {}) });
  }

  async send(events: CvmEvent[]): Promise<void> {
    for (const e of events) this.client.track(e);
    await this.client.flush();
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

function checked(event: Record<string, unknown>): CvmEvent {
  const r = validateEvent(event);
  if (!r.ok) throw new Error(`shop event breaks the contract: ${r.problem.field} ${r.problem.reason}`);
  return r.event;
}

export interface EventOrder {
  order_id: string;
  customer_id: string;
  anonymous_id: string;
  currency: string;
  total: number;
  items: Array<{ product_id: string; quantity: number; price: number; category: string; title: string }>;
}

interface Who {
  locale?: string;
  url?: string;
}

function context(who: Who): Record<string, unknown> {
  return { library: LIBRARY, ...(who.locale ? { locale: who.locale } : {}), ...(who.url ? { url: who.url } : {}) };
}

function lineItems(o: EventOrder): EventOrder['items'] {
  return o.items.map((i) => ({ product_id: i.product_id, quantity: i.quantity, price: i.price, category: i.category, title: i.title }));
}

function ids(o: { customer_id: string; anonymous_id: string }): Record<string, string> {
  return { ...(o.customer_id ? { customer_id: o.customer_id } : {}), ...(o.anonymous_id ? { anonymous_id: o.anonymous_id } : {}) };
}

export function purchaseEvent(o: EventOrder, at: number, who: Who = {}): CvmEvent {
  return checked({
    event_id: stableEventId('purchase', o.order_id),
    type: 'purchase',
    ts: new Date(at).toISOString(),
    ...ids(o),
    context: context(who),
    properties: { order_id: o.order_id, items: lineItems(o), total: o.total, currency: o.currency, source: 'shop' },
  });
}

export function refundEvent(o: EventOrder, at: number, reason: string, who: Who = {}): CvmEvent {
  return checked({
    event_id: stableEventId('refund', o.order_id, 'full'),
    type: 'refund',
    ts: new Date(at).toISOString(),
    ...ids(o),
    context: context(who),
    properties: { order_id: o.order_id, amount: o.total, currency: o.currency, items: lineItems(o), reason, source: 'shop' },
  });
}

/** Links the visitor's anonymous id to the member (the collector's identities table). */
export function identifyEvent(customerId: string, anonymousId: string | null, traits: Record<string, unknown>, at: number, who: Who = {}): CvmEvent {
  return checked({
    event_id: randomUUID(),
    type: 'identify',
    ts: new Date(at).toISOString(),
    customer_id: customerId,
    ...(anonymousId ? { anonymous_id: anonymousId } : {}),
    context: context(who),
    traits,
    properties: {},
  });
}
