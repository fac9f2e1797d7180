// The shop API's answers: products and the cart priced in the visitor's currency, orders with the
// actions their state allows, and refused cart or order changes as { error, message, ...detail }.
import type { FastifyReply } from 'fastify';
import { CartError, type Cart } from '../cart.store.ts';
import type { Product } from '../catalogue.ts';
import { allowedActions } from '../order-state.ts';
import { OrderError, type Order } from '../orders.store.ts';
import type { Shop } from '../shop.ts';
import type { Visitor } from '../visitor.ts';

export function productJson(shop: Shop, v: Visitor, p: Product) {
  return {
    product_id: p.product_id,
    title: p.title,
    description: p.description,
    category: p.category,
    tags: p.tags,
    price: p.price,
    currency: p.currency,
    display_price: shop.money.convert(p.price, p.currency, v.currency),
    display_currency: v.currency,
    stock: Math.max(0, p.stock),
    listed: p.listed === 1,
  };
}

export function cartJson(shop: Shop, v: Visitor, cart: Cart | null) {
  const priced = shop.orders.price(cart?.lines ?? [], v.currency);
  return {
    lines: priced.items.map((i) => ({ product_id: i.product_id, title: i.title, category: i.category, quantity: i.quantity, price: i.price, display_price: i.display_price })),
    count: priced.items.reduce((n, i) => n + i.quantity, 0),
    total: priced.total,
    currency: shop.money.base,
    display_total: priced.display_total,
    display_currency: v.currency,
  };
}

export function orderJson(o: Order) {
  return { ...o, created_at: new Date(o.created_ms).toISOString(), updated_at: new Date(o.updated_ms).toISOString(), allowed_actions: allowedActions(o.state) };
}

/** Refused transitions answer 409 { error: 'invalid_transition', state, allowed, message }; anything else is rethrown. */
export function sendOrderError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof OrderError) return reply.code(err.status).send({ error: err.code, message: err.message, ...err.detail });
  if (err instanceof CartError) return reply.code(400).send({ error: err.code, message: err.message });
  throw err;
}
