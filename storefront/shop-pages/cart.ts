// The cart page and its forms (add, change quantity, remove); a refused change re-renders the cart with
// the reason.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CartError } from '../cart.store.ts';
import { int, str, type Form } from '../form-input.ts';
import { cartPage, priceLines } from '../pages/orders.pages.ts';
import { addToCart, setQuantity } from '../shop-actions.ts';
import type { Visitor } from '../visitor.ts';
import { shelfAudience, type PageKit } from './kit.ts';

const cartError = (err: unknown): string => {
  if (err instanceof CartError) return err.message;
  throw err;
};

export function cartPages(app: FastifyInstance, kit: PageKit): void {
  const { shop, page, context, see } = kit;

  const renderCart = (req: FastifyRequest, reply: FastifyReply, v: Visitor, error: string | null) => {
    const ctx = context(req, reply, v);
    const cart = v.cartId ? shop.carts.get(v.cartId) : null;
    const lines = priceLines(ctx, cart?.lines ?? [], (id) => shop.catalogue.get(id));
    const recs = shop.recs.forVisitor(shelfAudience(v), 6, { cart: lines.map((l) => l.product.product_id) });
    return cartPage(ctx, lines, recs, error, null);
  };
  app.get('/shop/cart', page((req, reply, v) => renderCart(req, reply, v, null)));

  app.post('/shop/cart/add', page((req, reply, v) => {
    const f = (req.body ?? {}) as Form;
    const id = str(f.product_id, 128);
    try {
      addToCart(shop, req, reply, v, id, Math.max(1, int(f.quantity, 1)));
    } catch (err) {
      return reply.code(400).send(renderCart(req, reply, v, cartError(err)));
    }
    return see(reply, `/shop/p/${encodeURIComponent(id)}?added=1`);
  }));

  app.post('/shop/cart/update', page((req, reply, v) => {
    const f = (req.body ?? {}) as Form;
    try {
      setQuantity(shop, req, reply, v, str(f.product_id, 128), f.remove ? 0 : Math.max(0, int(f.quantity, 0)));
    } catch (err) {
      return reply.code(400).send(renderCart(req, reply, v, cartError(err)));
    }
    return see(reply, '/shop/cart');
  }));
}
