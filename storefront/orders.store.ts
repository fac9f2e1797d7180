// The order book: checkout, the state machine's transitions, and stock. Everything that changes stock
// or an order runs through one SerialQueue (the single writer), so "is there stock? then reserve it"
// never interleaves with another checkout. Each transition is one INSERT into order_events (the order
// snapshot, the new state and the stock delta together), written before memory changes; the orders
// table follows by a materialised view. The transition's server-side event (purchase, refund) is then
// handed to the event log; if that fails it is retried, and on start every recent transition whose
// event is not in `events` is sent again.
import crypto from 'node:crypto';
import type { ClickHouse } from '../lib/clickhouse.ts';
import { chTime } from '../lib/clickhouse.ts';
import type { Logger } from '../lib/logger.ts';
import { sql } from '../lib/sql.ts';
import type { CvmEvent } from '../ingest/contract.ts';
import type { Catalogue } from './catalogue.ts';
import type { CartLine } from './cart.store.ts';
import { roundMoney, type Money } from './currency.ts';
import { ACTION_ACTORS, isOrderAction, nextState, releasesStock, returnsMoney, TransitionError, type OrderAction, type OrderState } from './order-state.ts';
import { SerialQueue } from './serial-queue.ts';
import { purchaseEvent, refundEvent, type ShopEventSink } from './shop-events.ts';

export interface OrderLine {
  product_id: string;
  title: string;
  category: string;
  quantity: number;
  /** Unit price in the shop's currency (what is charged). */
  price: number;
  /** Unit price in the visitor's currency at checkout (shown, not charged). */
  display_price: number;
}

export interface Order {
  order_id: string;
  customer_id: string;
  anonymous_id: string;
  state: OrderState;
  currency: string;
  total: number;
  display_currency: string;
  display_total: number;
  items: OrderLine[];
  created_ms: number;
  updated_ms: number;
  seq: number;
}

export interface OrderHistoryEntry {
  seq: number;
  action: string;
  from_state: string;
  state: string;
  at_ms: number;
  actor: string;
  reason: string;
  event_id: string;
}

export class OrderError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly detail: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'OrderError';
  }
}

export interface Actor {
  kind: 'customer' | 'admin' | 'system';
  /** The customer asking (kind 'customer'); they may act on their own orders only. */
  customerId?: string;
  /** Key id or 'system', recorded in order_events.actor. */
  id?: string;
}

export interface OrderBookOptions {
  /** Unpaid orders are cancelled (stock released) after this long. */
  unpaidTtlMs?: number;
  /** How often failed event sends are retried. */
  retryMs?: number;
}

/** Event time allowed for a simulated clock (`cvm demo traffic`): the past 400 days up to now. */
export function acceptableTime(at: number | undefined, now = Date.now()): number {
  if (at === undefined || !Number.isFinite(at)) return now;
  return Math.min(now, Math.max(now - 400 * 86_400_000, Math.floor(at)));
}

export class OrderBook {
  private readonly orders = new Map<string, Order>();
  private readonly byCustomer = new Map<string, string[]>();
  /** Wall-clock time unpaid orders were created in this process, for the unpaid-order expiry. */
  private readonly createdWall = new Map<string, number>();
  private readonly writer = new SerialQueue();
  /** Transitions of orders touched by this process (the order page reads them); others come from ClickHouse. */
  private readonly histories = new Map<string, OrderHistoryEntry[]>();
  private unsent: Array<{ event: CvmEvent; attempts: number }> = [];
  private lastStamp = 0;
  private timers: NodeJS.Timeout[] = [];
  readonly stats = { checkouts: 0, refusedStock: 0, transitions: 0, refusedTransitions: 0, eventsSent: 0, eventRetries: 0 };

  constructor(
    private readonly ch: ClickHouse,
    private readonly catalogue: Catalogue,
    private readonly money: Money,
    private readonly sink: ShopEventSink,
    private readonly log: Logger,
    private readonly opts: OrderBookOptions = {},
  ) {}

  static async load(ch: ClickHouse, catalogue: Catalogue, money: Money, sink: ShopEventSink, log: Logger, opts: OrderBookOptions = {}): Promise<OrderBook> {
    const book = new OrderBook(ch, catalogue, money, sink, log, opts);
    const rows = await ch.rows<Omit<Order, 'items'> & { items: string; created_ms: string; updated_ms: string; seq: number }>(sql('storefront/load-orders'));
    const now = Date.now();
    for (const r of rows) {
      const order: Order = { ...r, items: JSON.parse(r.items) as OrderLine[], total: Number(r.total), display_total: Number(r.display_total), created_ms: Number(r.created_ms), updated_ms: Number(r.updated_ms), seq: Number(r.seq) };
      book.remember(order);
      if (order.state === 'created') book.createdWall.set(order.order_id, now); // a fresh grace period after a restart
    }
    return book;
  }

  /** Starts the unpaid-order expiry and the event retry timers. */
  start(): this {
    const ttl = this.opts.unpaidTtlMs ?? 30 * 60_000;
    const t1 = setInterval(() => void this.expireUnpaid(ttl).catch((err) => this.log.error({ err }, 'unpaid order expiry failed')), Math.min(60_000, ttl));
    const t2 = setInterval(() => void this.retryUnsent(), this.opts.retryMs ?? 10_000);
    for (const t of [t1, t2]) t.unref();
    this.timers.push(t1, t2);
    return this;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.writer.idle();
    await this.retryUnsent();
  }

  private remember(order: Order): void {
    if (!this.orders.has(order.order_id)) {
      const list = this.byCustomer.get(order.customer_id) ?? [];
      list.push(order.order_id);
      this.byCustomer.set(order.customer_id, list);
    }
    this.orders.set(order.order_id, order);
  }

  /** A strictly increasing wall clock: stock deltas are ordered against products rows by it. */
  private stamp(): number {
    this.lastStamp = Math.max(Date.now(), this.lastStamp + 1);
    return this.lastStamp;
  }

  get(orderId: string): Order | undefined {
    return this.orders.get(orderId);
  }

  forCustomer(customerId: string): Order[] {
    return (this.byCustomer.get(customerId) ?? []).map((id) => this.orders.get(id)!).sort((a, b) => b.created_ms - a.created_ms);
  }

  list(filter: { state?: string; customerId?: string; limit?: number } = {}): Order[] {
    const source = filter.customerId ? this.forCustomer(filter.customerId) : [...this.orders.values()].sort((a, b) => b.created_ms - a.created_ms);
    return source.filter((o) => !filter.state || o.state === filter.state).slice(0, filter.limit ?? 100);
  }

  count(): number {
    return this.orders.size;
  }

  /** Net spend in the shop's currency: orders paid and not cancelled or refunded. */
  netSpend(customerId: string): number {
    let s = 0;
    for (const o of this.forCustomer(customerId)) if (o.state === 'paid' || o.state === 'shipped' || o.state === 'delivered') s += o.total;
    return roundMoney(s, this.money.base);
  }

  async history(orderId: string): Promise<OrderHistoryEntry[]> {
    const known = this.histories.get(orderId);
    if (known) return known.map((h) => ({ ...h }));
    const rows = await this.ch.rows<OrderHistoryEntry & { at_ms: string }>(sql('storefront/order-history'), { order_id: orderId });
    return rows.map((r) => ({ ...r, seq: Number(r.seq), at_ms: Number(r.at_ms) }));
  }

  /** Lines priced now: unit prices in the shop's currency and in the display currency. */
  price(lines: CartLine[], displayCurrency: string): { items: OrderLine[]; total: number; display_total: number } {
    const base = this.money.base;
    const items: OrderLine[] = [];
    for (const l of lines) {
      const p = this.catalogue.get(l.product_id);
      if (!p) continue;
      const price = this.money.toBase(p.price, p.currency);
      if (price === null) throw new OrderError(500, 'no_rate', `no exchange rate from ${p.currency} to ${base}`);
      const display = this.money.convert(price, base, displayCurrency) ?? price;
      items.push({ product_id: p.product_id, title: p.title, category: p.category, quantity: l.quantity, price, display_price: display });
    }
    const total = roundMoney(items.reduce((s, i) => s + i.price * i.quantity, 0), base);
    const display_total = roundMoney(items.reduce((s, i) => s + i.display_price * i.quantity, 0), displayCurrency);
    return { items, total, display_total };
  }

  /**
   * Creates an order from cart lines, reserving their stock. Refused with 409 out_of_stock when any
   * line asks for more than is available at that moment (the writer makes "that moment" exact).
   */
  checkout(input: { customerId: string; anonymousId: string; lines: CartLine[]; displayCurrency: string; at?: number }): Promise<Order> {
    return this.writer.run(async () => {
      if (!input.lines.length) throw new OrderError(400, 'empty_cart', 'the cart is empty');
      const merged = new Map<string, number>();
      for (const l of input.lines) merged.set(l.product_id, (merged.get(l.product_id) ?? 0) + l.quantity);
      for (const [id, quantity] of merged) {
        const p = this.catalogue.get(id);
        if (!p || !p.listed) throw new OrderError(409, 'not_available', `product ${id} is not for sale`, { product_id: id });
        if (!Number.isInteger(quantity) || quantity < 1) throw new OrderError(400, 'bad_quantity', `quantity of ${id} must be a positive whole number`, { product_id: id });
        if (p.stock < quantity) {
          this.stats.refusedStock++;
          throw new OrderError(409, 'out_of_stock', `only ${Math.max(0, p.stock)} of ${p.title} (${id}) in stock; the order asks for ${quantity}`, { product_id: id, available: Math.max(0, p.stock), requested: quantity, title: p.title });
        }
      }
      const lines = [...merged].map(([product_id, quantity]) => ({ product_id, quantity }));
      const priced = this.price(lines, input.displayCurrency);
      const at = acceptableTime(input.at);
      const order: Order = {
        order_id: `ord_${crypto.randomBytes(6).toString('hex')}`,
        customer_id: input.customerId,
        anonymous_id: input.anonymousId,
        state: 'created',
        currency: this.money.base,
        total: priced.total,
        display_currency: input.displayCurrency,
        display_total: priced.display_total,
        items: priced.items,
        created_ms: at,
        updated_ms: at,
        seq: 1,
      };
      const delta = lines.map((l) => ({ product_id: l.product_id, delta: -l.quantity }));
      await this.record(order, { action: 'create', from: '', actor: 'customer', reason: '', delta, eventId: '' });
      for (const d of delta) this.catalogue.adjustStock(d.product_id, d.delta);
      this.remember(order);
      this.createdWall.set(order.order_id, Date.now());
      this.stats.checkouts++;
      return order;
    });
  }

  /** Moves an order along the state machine; 409 with the current state and the allowed actions otherwise. */
  transition(orderId: string, action: string, actor: Actor, opts: { at?: number; reason?: string; locale?: string } = {}): Promise<Order> {
    return this.writer.run(async () => {
      const order = this.orders.get(orderId);
      // A customer asking about someone else's order learns nothing about it.
      if (!order || (actor.kind === 'customer' && order.customer_id !== actor.customerId)) throw new OrderError(404, 'not_found', `no order ${orderId}`);
      if (!isOrderAction(action)) throw new OrderError(400, 'unknown_action', `unknown action '${action}'; actions are pay, ship, deliver, cancel, refund`);
      if (actor.kind === 'customer' && !ACTION_ACTORS[action].includes('customer')) throw new OrderError(403, 'forbidden', `only the shop may ${action} an order`);
      let next: OrderState;
      try {
        next = nextState(order.order_id, order.state, action);
      } catch (err) {
        if (err instanceof TransitionError) {
          this.stats.refusedTransitions++;
          throw new OrderError(409, 'invalid_transition', err.message, { order_id: order.order_id, state: order.state, action, allowed: err.allowed });
        }
        throw err;
      }
      const from = order.state;
      const at = Math.max(order.updated_ms, acceptableTime(opts.at));
      const updated: Order = { ...order, state: next, updated_ms: at, seq: order.seq + 1 };
      const delta = releasesStock(from, action as OrderAction) ? order.items.map((i) => ({ product_id: i.product_id, delta: i.quantity })) : [];
      const reason = (opts.reason ?? '').slice(0, 500);
      const event = action === 'pay' ? purchaseEvent(updated, at, { locale: opts.locale ?? '' }) : returnsMoney(from, action as OrderAction) ? refundEvent(updated, at, reason || action, { locale: opts.locale ?? '' }) : null;
      await this.record(updated, { action, from, actor: actor.kind === 'customer' ? `customer:${actor.customerId}` : `${actor.kind}:${actor.id ?? ''}`, reason, delta, eventId: event?.event_id ?? '' });
      for (const d of delta) this.catalogue.adjustStock(d.product_id, d.delta);
      this.remember(updated);
      if (next !== 'created') this.createdWall.delete(order.order_id);
      this.stats.transitions++;
      if (event) await this.send(event);
      return updated;
    });
  }

  private async record(order: Order, t: { action: string; from: string; actor: string; reason: string; delta: Array<{ product_id: string; delta: number }>; eventId: string }): Promise<void> {
    // The history so far, read before this transition is written (it may be an order from before a restart).
    const history = order.seq === 1 ? [] : await this.history(order.order_id);
    await this.ch.insert('order_events', [
      {
        order_id: order.order_id,
        seq: order.seq,
        at: chTime(order.updated_ms),
        action: t.action,
        from_state: t.from,
        state: order.state,
        actor: t.actor,
        reason: t.reason,
        customer_id: order.customer_id,
        anonymous_id: order.anonymous_id,
        currency: order.currency,
        total: order.total,
        display_currency: order.display_currency,
        display_total: order.display_total,
        items: JSON.stringify(order.items),
        created_at: chTime(order.created_ms),
        stock_delta: t.delta.map((d) => ({ product_id: d.product_id, delta: d.delta })),
        event_id: t.eventId,
        recorded_at: chTime(this.stamp()),
      },
    ]);
    history.push({ seq: order.seq, action: t.action, from_state: t.from, state: order.state, at_ms: order.updated_ms, actor: t.actor, reason: t.reason, event_id: t.eventId });
    this.histories.set(order.order_id, history);
  }

  private async send(event: CvmEvent): Promise<void> {
    try {
      await this.sink.send([event]);
      this.stats.eventsSent++;
    } catch (err) {
      // The transition stands (it is recorded); its event goes out on a later retry.
      this.log.error({ err, event_id: event.event_id, type: event.type }, 'shop event not delivered; will retry');
      this.unsent.push({ event, attempts: 1 });
    }
  }

  private async retryUnsent(): Promise<void> {
    if (!this.unsent.length) return;
    const batch = this.unsent;
    this.unsent = [];
    try {
      await this.sink.send(batch.map((u) => u.event));
      this.stats.eventsSent += batch.length;
    } catch (err) {
      this.stats.eventRetries++;
      this.log.warn({ err, events: batch.length }, 'shop events still not delivered');
      this.unsent.push(...batch.map((u) => ({ ...u, attempts: u.attempts + 1 })));
    }
  }

  /** Re-sends the events of recent transitions that never reached `events` (a crash between the two). */
  async reconcile(days = 7): Promise<number> {
    const rows = await this.ch.rows<{ order_id: string; action: string; from_state: string; reason: string; at_ms: string; event_id: string }>(sql('storefront/unsent-events'), { days });
    const events: CvmEvent[] = [];
    for (const r of rows) {
      const order = this.orders.get(r.order_id);
      if (!order) continue;
      const at = Number(r.at_ms);
      const e = r.action === 'pay' ? purchaseEvent(order, at) : refundEvent(order, at, r.reason || r.action);
      if (e.event_id === r.event_id) events.push(e);
    }
    if (events.length) {
      await this.sink.send(events);
      this.log.info({ events: events.length }, 're-sent shop events missing from the store');
    }
    return events.length;
  }

  /** Cancels orders left unpaid for longer than ttlMs, releasing their stock. */
  async expireUnpaid(ttlMs: number): Promise<number> {
    const cutoff = Date.now() - ttlMs;
    let n = 0;
    for (const [id, wall] of [...this.createdWall]) {
      if (wall > cutoff) continue;
      try {
        await this.transition(id, 'cancel', { kind: 'system', id: 'unpaid-expiry' }, { reason: 'not paid in time' });
        n++;
      } catch (err) {
        if (!(err instanceof OrderError && err.status === 409)) throw err;
        this.createdWall.delete(id);
      }
    }
    return n;
  }

  /**
   * Erasure: the person's orders stay (stock and the shop's totals depend on them) under a pseudonym,
   * with no anonymous id, reason or event link; events not yet delivered for them are dropped. Runs in the
   * writer so no transition of theirs is half-way. The stored rows are anonymised by the erasure itself.
   */
  anonymise(subject: { customers: string[]; anonymous: string[]; pseudonym: string }): Promise<number> {
    return this.writer.run(async () => {
      const customers = new Set(subject.customers);
      const anonymous = new Set(subject.anonymous);
      const theirs = [...this.orders.values()].filter((o) => customers.has(o.customer_id) || (o.anonymous_id !== '' && anonymous.has(o.anonymous_id)));
      for (const o of theirs) {
        const list = this.byCustomer.get(o.customer_id)?.filter((id) => id !== o.order_id) ?? [];
        if (list.length) this.byCustomer.set(o.customer_id, list);
        else this.byCustomer.delete(o.customer_id);
        const next: Order = { ...o, customer_id: subject.pseudonym, anonymous_id: '' };
        this.orders.delete(o.order_id);
        this.remember(next);
        const h = this.histories.get(o.order_id);
        if (h) this.histories.set(o.order_id, h.map((e) => ({ ...e, actor: e.actor.startsWith('customer:') ? 'customer:erased' : e.actor, reason: '', event_id: '' })));
      }
      const ids = new Set(theirs.map((o) => o.order_id));
      this.unsent = this.unsent.filter((u) => !customers.has(u.event.customer_id ?? '') && !ids.has(String((u.event.properties as { order_id?: unknown } | undefined)?.order_id ?? '')));
      return theirs.length;
    });
  }

  /** Runs a stock-changing job (a products import) in the writer, between checkouts. */
  exclusive<T>(job: () => Promise<T>): Promise<T> {
    return this.writer.run(job);
  }

  /** The clock an import must stamp products rows with, so later reservations count against them. */
  nextStamp(): number {
    return this.stamp();
  }
}
