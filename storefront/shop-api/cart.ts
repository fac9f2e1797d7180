// /shop/api/cart: the visitor's cart, adding, changing and removing lines; every answer is the whole cart.
import type { FastifyInstance } from 'fastify';
import { str } from '../form-input.ts';
import { addToCart, setQuantity } from '../shop-actions.ts';
import { cartJson, sendOrderError } from './json.ts';
import type { ApiKit } from './kit.ts';

export function cartApi(app: FastifyInstance, { shop, visitor, body }: ApiKit): void {
  app.get('/shop/api/cart', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    return cartJson(shop, v, v.cartId ? shop.carts.get(v.cartId) : null);
  });
  app.post('/shop/api/cart/items', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    const b = body(req);
    try {
      return cartJson(shop, v, addToCart(shop, req, reply, v, str(b.product_id, 128), Number(b.quantity ?? 1)));
    } catch (err) {
      return sendOrderError(reply, err);
    }
  });
  app.put<{ Params: { id: string } }>('/shop/api/cart/items/:id', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    try {
      return cartJson(shop, v, setQuantity(shop, req, reply, v, req.params.id, Number(body(req).quantity)));
    } catch (err) {
      return sendOrderError(reply, err);
    }
  });
  app.delete<{ Params: { id: string } }>('/shop/api/cart/items/:id', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    try {
      return cartJson(shop, v, setQuantity(shop, req, reply, v, req.params.id, 0));
    } catch (err) {
      return sendOrderError(reply, err);
    }
  });
}
