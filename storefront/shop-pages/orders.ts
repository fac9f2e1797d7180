// Checkout and the member's order pages: place the order, see it, and the customer's own transitions
// (cancel, return, ...). Refusals re-render the page with the reason.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { str } from '../form-input.ts';
import { OrderError } from '../orders.store.ts';
import { checkoutPage, orderPage, priceLines } from '../pages/orders.pages.ts';
import { checkout, customerTransition } from '../shop-actions.ts';
import type { Visitor } from '../visitor.ts';
import type { PageKit } from './kit.ts';

const orderErrorText = (v: Visitor, err: OrderError): string => {
  if (err.code === 'out_of_stock') return v.t('error_stock', { title: String(err.detail.title ?? err.detail.product_id), n: Number(err.detail.available ?? 0) });
  return err.message;
};

export function orderPages(app: FastifyInstance, kit: PageKit): void {
  const { shop, page, context, see, notFound, loginFirst } = kit;

  const renderCheckout = (req: FastifyRequest, reply: FastifyReply, v: Visitor, error: string | null) => {
    const ctx = context(req, reply, v);
    const cart = v.cartId ? shop.carts.get(v.cartId) : null;
    return checkoutPage(ctx, priceLines(ctx, cart?.lines ?? [], (id) => shop.catalogue.get(id)), error);
  };
  app.get('/shop/checkout', page((req, reply, v) => renderCheckout(req, reply, v, null)));

  app.post('/shop/checkout', page(async (req, reply, v) => {
    if (!v.member) return loginFirst(req, reply);
    try {
      const order = await checkout(shop, v);
      return see(reply, `/shop/orders/${order.order_id}`);
    } catch (err) {
      if (!(err instanceof OrderError)) throw err;
      return reply.code(err.status).send(renderCheckout(req, reply, v, orderErrorText(v, err)));
    }
  }));

  app.get<{ Params: { id: string } }>('/shop/orders/:id', page(async (req, reply, v) => {
    if (!v.member) return loginFirst(req, reply);
    const o = shop.orders.get(str((req.params as { id: string }).id, 64));
    if (!o || o.customer_id !== v.member.customer_id) return notFound(req, reply, v);
    return orderPage(context(req, reply, v), o, await shop.orders.history(o.order_id), null);
  }));

  app.post<{ Params: { id: string; action: string } }>('/shop/orders/:id/:action', page(async (req, reply, v) => {
    if (!v.member) return loginFirst(req, reply);
    const { id, action } = req.params as { id: string; action: string };
    try {
      await customerTransition(shop, v, str(id, 64), str(action, 20));
      return see(reply, `/shop/orders/${encodeURIComponent(id)}`);
    } catch (err) {
      if (!(err instanceof OrderError)) throw err;
      const o = shop.orders.get(id);
      if (!o || o.customer_id !== v.member.customer_id) return notFound(req, reply, v);
      return reply.code(err.status).send(orderPage(context(req, reply, v), o, await shop.orders.history(o.order_id), err.message));
    }
  }));
}
