// JSON endpoints of the shop.
//  Visitor (cookies, like the pages):  /shop/api/products, /shop/api/cart, /shop/api/checkout,
//    /shop/api/orders[/:id[/:action]], /shop/api/signup|login|logout, /shop/api/me
//  Shop staff (secret key, admin):     /v1/shop/orders[/:id[/:action]], /v1/shop/products/import
// Refused transitions answer 409 { error: 'invalid_transition', state, allowed, message }.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../api/deps.ts';
import { requireRole } from '../api/auth.ts';
import { CartError, type Cart } from './cart.store.ts';
import type { Product } from './catalogue.ts';
import { SignUpError } from './members.store.ts';
import { OrderError, type Order } from './orders.store.ts';
import { allowedActions } from './order-state.ts';
import { parseProductsCsv } from './products-csv.ts';
import { addToCart, checkout, customerTransition, logIn, logOut, setQuantity, signUp, type AccessResult } from './shop-actions.ts';
import { loginThrottleFor } from './login-throttle.ts';
import { shopFor, type Shop } from './shop.ts';
import { standing } from './tiers.ts';
import { crossSite, visitorFor, type Visitor } from './visitor.ts';

const str = (v: unknown, max = 1000): string => (typeof v === 'string' ? v.slice(0, max) : '');

function productJson(shop: Shop, v: Visitor, p: Product) {
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

function cartJson(shop: Shop, v: Visitor, cart: Cart | null) {
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

function sendOrderError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof OrderError) return reply.code(err.status).send({ error: err.code, message: err.message, ...err.detail });
  if (err instanceof CartError) return reply.code(400).send({ error: err.code, message: err.message });
  throw err;
}

export default async function shopApiRoutes(app: FastifyInstance, opts: { deps: AppDeps }): Promise<void> {
  const { deps } = opts;
  const shop = await shopFor(deps);
  const throttle = loginThrottleFor(deps);
  app.addHook('onClose', async () => shop.close());

  const visitor = (req: FastifyRequest, reply: FastifyReply): Visitor | null => {
    const v = visitorFor(deps, shop, req, reply);
    if (req.method !== 'GET' && crossSite(req)) {
      void reply.code(403).send({ error: 'cross_site', message: 'requests from other sites are refused' });
      return null;
    }
    reply.header('Cache-Control', 'private, no-store');
    return v;
  };
  const member = (v: Visitor, reply: FastifyReply) => {
    if (v.member) return v.member;
    void reply.code(401).send({ error: 'login_required', message: 'log in first: POST /shop/api/login' });
    return null;
  };
  const body = (req: FastifyRequest) => (req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {});

  // Catalogue.
  app.get('/shop/api/products', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    const q = req.query as Record<string, unknown>;
    const limit = Math.min(500, Math.max(1, Number(q.limit) || 100));
    const query = str(q.q, 200).trim();
    const category = str(q.category, 300);
    const list = query ? shop.catalogue.search(query) : category ? shop.catalogue.inCategory(category) : shop.catalogue.all().filter((p) => p.listed);
    return { products: list.slice(0, limit).map((p) => productJson(shop, v, p)), total: list.length, categories: shop.catalogue.categories() };
  });
  app.get<{ Params: { id: string } }>('/shop/api/products/:id', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    const p = shop.catalogue.get(req.params.id);
    if (!p) return reply.code(404).send({ error: 'not_found', field: 'id', message: `no product ${req.params.id}` });
    return productJson(shop, v, p);
  });

  // Cart.
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

  // Checkout and the member's orders.
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

  // Members.
  const tooMany = (reply: FastifyReply, r: Extract<AccessResult, { kind: 'throttled' }>) =>
    reply.code(429).header('Retry-After', String(r.retryAfterSeconds)).send({ error: 'too_many_attempts', field: 'password', retry_after_seconds: r.retryAfterSeconds, message: `too many attempts: try again in ${r.retryAfterSeconds} s` });

  app.post('/shop/api/signup', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    const b = body(req);
    try {
      const r = await signUp(shop, throttle, req, reply, v, { email: str(b.email, 320), name: str(b.name, 200), password: str(b.password, 1024) });
      if (r.kind === 'signed_in') return reply.code(201).send({ customer_id: r.member.customer_id, email: r.member.email, name: r.member.name });
      if (r.kind === 'throttled') return tooMany(reply, r);
      // Neutral: the e-mail may or may not have an account; either way, logging in is the next step.
      return reply.code(202).send({ status: 'check_login', message: 'if this email already has an account, log in with its password (POST /shop/api/login); otherwise sign up with another email' });
    } catch (err) {
      if (err instanceof SignUpError) return reply.code(400).send({ error: err.code, field: err.code === 'bad_name' ? 'name' : err.code === 'short_password' ? 'password' : 'email', message: err.message });
      throw err;
    }
  });
  app.post('/shop/api/login', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    const b = body(req);
    const r = await logIn(shop, throttle, req, reply, v, { email: str(b.email, 320), password: str(b.password, 1024) });
    if (r.kind === 'throttled') return tooMany(reply, r);
    if (r.kind !== 'signed_in') return reply.code(401).send({ error: 'bad_login', message: 'email or password is wrong' });
    return { customer_id: r.member.customer_id, email: r.member.email, name: r.member.name };
  });
  app.post('/shop/api/logout', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    await logOut(shop, req, reply, v);
    return { ok: true };
  });
  app.get('/shop/api/me', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    const m = member(v, reply);
    if (!m) return reply;
    return { customer_id: m.customer_id, email: m.email, name: m.name, anonymous_id: v.anonymousId, ...standing(shop.orders.netSpend(m.customer_id)) };
  });

  // Shop staff: orders and catalogue, with a secret key.
  const admin = requireRole(deps, 'admin');
  app.get('/v1/shop/orders', { preHandler: admin }, async (req) => {
    const q = req.query as Record<string, unknown>;
    const state = str(q.state, 20);
    const customerId = str(q.customer_id, 128);
    const limit = Math.min(1000, Math.max(1, Number(q.limit) || 100));
    return { orders: shop.orders.list({ limit, ...(state ? { state } : {}), ...(customerId ? { customerId } : {}) }).map(orderJson) };
  });
  app.get<{ Params: { id: string } }>('/v1/shop/orders/:id', { preHandler: admin }, async (req, reply) => {
    const o = shop.orders.get(req.params.id);
    if (!o) return reply.code(404).send({ error: 'not_found', field: 'id', message: `no order ${req.params.id}` });
    return { ...orderJson(o), history: await shop.orders.history(o.order_id) };
  });
  app.post<{ Params: { id: string; action: string } }>('/v1/shop/orders/:id/:action', { preHandler: admin }, async (req, reply) => {
    const b = body(req);
    const sim = req.headers['x-cvm-sim-time'];
    try {
      const o = await shop.orders.transition(req.params.id, req.params.action, { kind: 'admin', id: req.principal?.keyId ?? 'admin' }, { reason: str(b.reason, 500), ...(typeof sim === 'string' && /^\d{12,14}$/.test(sim) ? { at: Number(sim) } : {}) });
      return orderJson(o);
    } catch (err) {
      return sendOrderError(reply, err);
    }
  });

  app.register(async (csv) => {
    csv.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string', bodyLimit: 50 * 1024 * 1024 }, (_req, b, done) => done(null, b));
    csv.post('/v1/shop/products/import', { preHandler: admin, bodyLimit: 50 * 1024 * 1024 }, async (req, reply) => {
      const text = typeof req.body === 'string' ? req.body : '';
      let parsed;
      try {
        parsed = parseProductsCsv(text, deps.config.baseCurrency);
      } catch (err) {
        return reply.code(400).send({ error: 'bad_csv', field: 'body', message: (err as Error).message });
      }
      const unknown = [...new Set(parsed.products.map((p) => p.currency))].filter((c) => !shop.money.known(c));
      if (unknown.length) return reply.code(400).send({ error: 'unknown_currency', field: 'currency', message: `no exchange rate for ${unknown.join(', ')}; import rates first` });
      const imported = await shop.importProducts(parsed.products);
      return { imported, problems: parsed.problems };
    });
  });
}
