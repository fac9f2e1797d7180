// /shop/api/checkout and the member's orders: place one, list them, read one with its history, and the
// customer's own transitions.
import type { FastifyInstance } from 'fastify';
import { checkout, customerTransition } from '../shop-actions.ts';
import { orderJson, sendOrderError } from './json.ts';
import type { ApiKit } from './kit.ts';

export function orderApi(app: FastifyInstance, { shop, visitor, member }: ApiKit): void {
  app.post('/shop/api/checkout', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    try {
      return reply.code(201).send(orderJson(await checkout(shop, v)));
    } catch (err) {
      return sendOrderError(reply, err);
    }
  });
  app.get('/shop/api/orders', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    const m = member(v, reply);
    if (!m) return reply;
    return { orders: shop.orders.forCustomer(m.customer_id).map(orderJson) };
  });
  app.get<{ Params: { id: string } }>('/shop/api/orders/:id', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    const m = member(v, reply);
    if (!m) return reply;
    const o = shop.orders.get(req.params.id);
    if (!o || o.customer_id !== m.customer_id) return reply.code(404).send({ error: 'not_found', field: 'id', message: `no order ${req.params.id}` });
    return { ...orderJson(o), history: await shop.orders.history(o.order_id) };
  });
  app.post<{ Params: { id: string; action: string } }>('/shop/api/orders/:id/:action', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    try {
      return orderJson(await customerTransition(shop, v, req.params.id, req.params.action));
    } catch (err) {
      return sendOrderError(reply, err);
    }
  });
}
