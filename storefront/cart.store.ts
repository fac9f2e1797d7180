// Carts: product ids and quantities, priced when shown (prices may change while an item waits in a
// cart). Held in memory and written behind, at most once a second, in one insert: adding to a cart
// must not wait on ClickHouse. A crash loses at most the last second of cart changes, never an order.
import type { ClickHouse } from '../lib/clickhouse.ts';
import { chTime } from '../lib/clickhouse.ts';
import type { Logger } from '../lib/logger.ts';

export interface CartLine {
  product_id: string;
  quantity: number;
}

export interface Cart {
  cart_id: string;
  customer_id: string;
  anonymous_id: string;
  lines: CartLine[];
  updated_ms: number;
}

export const MAX_LINE_QUANTITY = 99;
export const MAX_LINES = 100;

export class CartError extends Error {
  constructor(readonly code: 'too_many_lines' | 'bad_quantity' | 'unknown_product', message: string) {
    super(message);
  }
}

export class Carts {
  private carts = new Map<string, Cart>();
  private dirty = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(private readonly ch: ClickHouse, private readonly log: Logger, private readonly flushMs = 1000) {}

  static async load(ch: ClickHouse, log: Logger, flushMs?: number): Promise<Carts> {
    const c = new Carts(ch, log, flushMs);
    const rows = await ch.rows<{ cart_id: string; customer_id: string; anonymous_id: string; items: string; updated_ms: string }>(
      `SELECT cart_id, customer_id, anonymous_id, items, toUnixTimestamp64Milli(updated_at) AS updated_ms
       FROM shop_carts FINAL WHERE items != '[]' AND updated_at > now64(3) - INTERVAL 60 DAY`,
    );
    for (const r of rows) {
      try {
        c.carts.set(r.cart_id, { cart_id: r.cart_id, customer_id: r.customer_id, anonymous_id: r.anonymous_id, lines: JSON.parse(r.items) as CartLine[], updated_ms: Number(r.updated_ms) });
      } catch {
        log.warn({ cart: r.cart_id }, 'unreadable cart skipped');
      }
    }
    return c;
  }

  get(cartId: string): Cart {
    return this.carts.get(cartId) ?? { cart_id: cartId, customer_id: '', anonymous_id: '', lines: [], updated_ms: 0 };
  }

  count(cartId: string): number {
    return this.get(cartId).lines.reduce((n, l) => n + l.quantity, 0);
  }

  private save(cart: Cart): Cart {
    cart.updated_ms = Date.now();
    this.carts.set(cart.cart_id, cart);
    this.dirty.add(cart.cart_id);
    this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
    this.timer.unref?.();
    return cart;
  }

  private owned(cartId: string, who: { customer_id?: string; anonymous_id?: string }): Cart {
    const c = this.get(cartId);
    return { ...c, lines: c.lines.map((l) => ({ ...l })), customer_id: who.customer_id ?? c.customer_id, anonymous_id: who.anonymous_id || c.anonymous_id };
  }

  /** Adds to a line (or creates it); quantity is capped at MAX_LINE_QUANTITY per line. */
  add(cartId: string, productId: string, quantity: number, who: { customer_id?: string; anonymous_id?: string } = {}): Cart {
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_LINE_QUANTITY) throw new CartError('bad_quantity', `quantity must be a whole number from 1 to ${MAX_LINE_QUANTITY}`);
    const cart = this.owned(cartId, who);
    const line = cart.lines.find((l) => l.product_id === productId);
    if (line) line.quantity = Math.min(MAX_LINE_QUANTITY, line.quantity + quantity);
    else {
      if (cart.lines.length >= MAX_LINES) throw new CartError('too_many_lines', `a cart holds at most ${MAX_LINES} different products`);
      cart.lines.push({ product_id: productId, quantity });
    }
    return this.save(cart);
  }

  /** Sets a line's quantity; 0 removes it. */
  set(cartId: string, productId: string, quantity: number, who: { customer_id?: string; anonymous_id?: string } = {}): Cart {
    if (!Number.isInteger(quantity) || quantity < 0 || quantity > MAX_LINE_QUANTITY) throw new CartError('bad_quantity', `quantity must be a whole number from 0 to ${MAX_LINE_QUANTITY}`);
    const cart = this.owned(cartId, who);
    if (quantity === 0) cart.lines = cart.lines.filter((l) => l.product_id !== productId);
    else {
      const line = cart.lines.find((l) => l.product_id === productId);
      if (line) line.quantity = quantity;
      else {
        if (cart.lines.length >= MAX_LINES) throw new CartError('too_many_lines', `a cart holds at most ${MAX_LINES} different products`);
        cart.lines.push({ product_id: productId, quantity });
      }
    }
    return this.save(cart);
  }

  clear(cartId: string): void {
    const cart = this.owned(cartId, {});
    cart.lines = [];
    this.save(cart);
  }

  /** Moves a visitor's cart into the member's cart at login. */
  merge(fromId: string, intoId: string, who: { customer_id: string; anonymous_id?: string }): Cart {
    const from = this.get(fromId);
    let into = this.owned(intoId, who);
    for (const l of from.lines) {
      const line = into.lines.find((x) => x.product_id === l.product_id);
      if (line) line.quantity = Math.min(MAX_LINE_QUANTITY, Math.max(line.quantity, l.quantity));
      else if (into.lines.length < MAX_LINES) into.lines.push({ ...l });
    }
    into = this.save(into);
    if (from.lines.length) this.clear(fromId);
    return into;
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.flushing) await this.flushing;
    if (!this.dirty.size) return;
    const ids = [...this.dirty];
    this.dirty.clear();
    const rows = ids.map((id) => this.get(id)).map((c) => ({ cart_id: c.cart_id, customer_id: c.customer_id, anonymous_id: c.anonymous_id, items: JSON.stringify(c.lines), updated_at: chTime(c.updated_ms || Date.now()) }));
    this.flushing = this.ch.insert('shop_carts', rows).catch((err: unknown) => {
      this.log.warn({ err, carts: ids.length }, 'cart write failed; retrying');
      for (const id of ids) this.dirty.add(id);
      this.timer ??= setTimeout(() => void this.flush(), this.flushMs * 5);
    });
    await this.flushing;
    this.flushing = null;
  }

  /** Erasure: pending writes land (the erasure deletes the rows after), then the carts leave memory. */
  async forget(ids: { customers: readonly string[]; anonymous: readonly string[] }): Promise<void> {
    await this.flush();
    for (const [id, c] of this.carts) if (this.owns(c, ids)) this.carts.delete(id);
  }

  holds(ids: { customers: readonly string[]; anonymous: readonly string[] }): boolean {
    for (const c of this.carts.values()) if (this.owns(c, ids)) return true;
    return false;
  }

  private owns(c: Cart, ids: { customers: readonly string[]; anonymous: readonly string[] }): boolean {
    return (c.customer_id !== '' && ids.customers.includes(c.customer_id)) || (c.anonymous_id !== '' && ids.anonymous.includes(c.anonymous_id));
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
