// The shop's HTML pages under /shop: server-rendered, every value escaped, cvm.js on every page.
// Forms post here and redirect (303) to the next page; errors re-render the form with a message.
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../api/deps.ts';
import { CartError } from './cart.store.ts';
import { SignUpError } from './members.store.ts';
import { OrderError } from './orders.store.ts';
import { accountPage, loginPage, safeNext, signupPage } from './pages/account.pages.ts';
import { SHOP_CSS, SHOP_CSS_ETAG, SHOP_JS, SHOP_JS_ETAG } from './pages/assets.ts';
import { categoryPage, homePage, messagePage, productPage, searchPage } from './pages/catalogue.pages.ts';
import type { PageContext } from './pages/layout.ts';
import { cartPage, checkoutPage, orderPage, priceLines } from './pages/orders.pages.ts';
import { addToCart, checkout, customerTransition, logIn, logOut, setQuantity, signUp } from './shop-actions.ts';
import { loginThrottleFor } from './login-throttle.ts';
import { shopFor, type Shop } from './shop.ts';
import { standing } from './tiers.ts';
import { crossSite, visitorFor, type Visitor } from './visitor.ts';
import type { MessageKey } from './i18n.ts';

type Form = Record<string, string>;

function parseForm(body: string): Form {
  const out: Form = {};
  for (const [k, v] of new URLSearchParams(body)) if (!(k in out)) out[k] = v;
  return out;
}

const str = (v: unknown, max = 1000): string => (typeof v === 'string' ? v.slice(0, max) : '');
const int = (v: unknown, def: number): number => {
  const n = Number(v);
  return Number.isInteger(n) ? n : def;
};

export default async function shopRoutes(app: FastifyInstance, opts: { deps: AppDeps }): Promise<void> {
  const { deps } = opts;
  const shop = await shopFor(deps);
  const throttle = loginThrottleFor(deps);
  app.addHook('onClose', async () => shop.close());

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, parseForm(String(body))));

  function context(req: FastifyRequest, reply: FastifyReply, v: Visitor, extra: Partial<PageContext> = {}): PageContext {
    const nonce = crypto.randomBytes(16).toString('base64');
    reply
      .type('text/html; charset=utf-8')
      .header('Content-Security-Policy', `default-src 'self'; script-src 'self' 'nonce-${nonce}'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'`)
      .header('X-Content-Type-Options', 'nosniff')
      .header('Referrer-Policy', 'strict-origin-when-cross-origin')
      .header('Cache-Control', 'private, no-store') // pages show the visitor's cart and account
      .header('Content-Language', v.lang);
    return {
      lang: v.lang,
      t: v.t,
      currency: v.currency,
      money: shop.money,
      member: v.member,
      cartCount: v.cartId ? shop.carts.count(v.cartId) : 0,
      nonce,
      origin: `${req.protocol}://${req.host}`,
      writeKey: deps.config.keys.demoWrite,
      identitySignature: v.identitySignature,
      url: new URL(req.url, 'http://shop.invalid'),
      categories: shop.catalogue.categories(),
      loggedOut: !v.member && (req.query as Record<string, unknown> | undefined)?.bye === '1',
      ...extra,
    };
  }

  const page = (handler: (req: FastifyRequest, reply: FastifyReply, v: Visitor, shop: Shop) => Promise<string | FastifyReply | void> | string | FastifyReply | void) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      const v = visitorFor(deps, shop, req, reply);
      if (req.method === 'POST' && crossSite(req)) return reply.code(403).type('text/plain').send('cross-site form posts are refused');
      return handler(req, reply, v, shop);
    };

  const see = (reply: FastifyReply, url: string) => reply.code(303).header('Location', url).send();
  const notFound = (req: FastifyRequest, reply: FastifyReply, v: Visitor) => reply.code(404).send(messagePage(context(req, reply, v), v.t('error_not_found'), v.t('error_not_found')));
  const loginFirst = (req: FastifyRequest, reply: FastifyReply) => see(reply, `/shop/login?next=${encodeURIComponent(req.url.split('?')[0]!)}`);

  app.get('/shop/assets/shop.css', async (req, reply) => {
    reply.header('Content-Type', 'text/css; charset=utf-8').header('Cache-Control', 'public, max-age=300').header('ETag', SHOP_CSS_ETAG);
    return req.headers['if-none-match'] === SHOP_CSS_ETAG ? reply.code(304).send() : SHOP_CSS;
  });
  app.get('/shop/assets/shop.js', async (req, reply) => {
    reply.header('Content-Type', 'application/javascript; charset=utf-8').header('Cache-Control', 'public, max-age=300').header('ETag', SHOP_JS_ETAG);
    return req.headers['if-none-match'] === SHOP_JS_ETAG ? reply.code(304).send() : SHOP_JS;
  });

  app.get('/shop', page((req, reply, v) => {
    const forYou = shop.recs.forVisitor({ ...(v.member ? { customerId: v.member.customer_id } : {}), anonymousId: v.anonymousId }, 8);
    return homePage(context(req, reply, v), forYou);
  }));
  app.get('/shop/', async (_req, reply) => see(reply, '/shop'));

  app.get('/shop/c/*', page((req, reply, v) => {
    let slug = str((req.params as Record<string, string>)['*'], 500);
    try {
      slug = decodeURIComponent(slug);
    } catch {
      return notFound(req, reply, v);
    }
    const node = shop.catalogue.categoryBySlug(slug);
    if (!node) return notFound(req, reply, v);
    const products = shop.catalogue.inCategory(node.path);
    const pageNo = Math.max(1, int((req.query as Record<string, unknown>).page, 1));
    const popular = shop.recs.forVisitor({ ...(v.member ? { customerId: v.member.customer_id } : {}), anonymousId: v.anonymousId }, 6);
    return categoryPage(context(req, reply, v), node, products, pageNo, popular);
  }));

  app.get<{ Params: { id: string } }>('/shop/p/:id', page((req, reply, v) => {
    const id = str((req.params as { id: string }).id, 128);
    const p = shop.catalogue.get(id);
    if (!p) return notFound(req, reply, v);
    const added = (req.query as Record<string, unknown>).added === '1';
    return productPage(context(req, reply, v), p, shop.catalogue.categoryByPath(p.category), shop.recs.similar(id, 6), shop.recs.boughtTogether(id, 4), added ? v.t('added_to_cart') : null);
  }));

  app.get('/shop/search', page((req, reply, v) => {
    const q = (req.query ?? {}) as Record<string, unknown>;
    const query = str(q.q, 200).trim();
    const results = query ? shop.catalogue.search(query) : [];
    return searchPage(context(req, reply, v), query, results, Math.max(1, int(q.page, 1)));
  }));

  // Cart.
  const renderCart = (req: FastifyRequest, reply: FastifyReply, v: Visitor, error: string | null, notice: string | null) => {
    const ctx = context(req, reply, v);
    const cart = v.cartId ? shop.carts.get(v.cartId) : null;
    const lines = priceLines(ctx, cart?.lines ?? [], (id) => shop.catalogue.get(id));
    const recs = shop.recs.forVisitor({ ...(v.member ? { customerId: v.member.customer_id } : {}), anonymousId: v.anonymousId }, 6, { cart: lines.map((l) => l.product.product_id) });
    return cartPage(ctx, lines, recs, error, notice);
  };
  app.get('/shop/cart', page((req, reply, v) => renderCart(req, reply, v, null, null)));

  const cartError = (v: Visitor, err: unknown): string => {
    if (err instanceof CartError) return err.message;
    throw err;
  };

  app.post('/shop/cart/add', page((req, reply, v) => {
    const f = (req.body ?? {}) as Form;
    const id = str(f.product_id, 128);
    try {
      addToCart(shop, req, reply, v, id, Math.max(1, int(f.quantity, 1)));
    } catch (err) {
      return reply.code(400).send(renderCart(req, reply, v, cartError(v, err), null));
    }
    return see(reply, `/shop/p/${encodeURIComponent(id)}?added=1`);
  }));

  app.post('/shop/cart/update', page((req, reply, v) => {
    const f = (req.body ?? {}) as Form;
    try {
      setQuantity(shop, req, reply, v, str(f.product_id, 128), f.remove ? 0 : Math.max(0, int(f.quantity, 0)));
    } catch (err) {
      return reply.code(400).send(renderCart(req, reply, v, cartError(v, err), null));
    }
    return see(reply, '/shop/cart');
  }));

  // Checkout and orders.
  const renderCheckout = (req: FastifyRequest, reply: FastifyReply, v: Visitor, error: string | null) => {
    const ctx = context(req, reply, v);
    const cart = v.cartId ? shop.carts.get(v.cartId) : null;
    return checkoutPage(ctx, priceLines(ctx, cart?.lines ?? [], (id) => shop.catalogue.get(id)), error);
  };
  app.get('/shop/checkout', page((req, reply, v) => renderCheckout(req, reply, v, null)));

  const orderErrorText = (v: Visitor, err: OrderError): string => {
    if (err.code === 'out_of_stock') return v.t('error_stock', { title: String(err.detail.title ?? err.detail.product_id), n: Number(err.detail.available ?? 0) });
    return err.message;
  };

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

  // Members.
  const signUpErrors: Record<SignUpError['code'], MessageKey> = { email_taken: 'error_email_taken', bad_email: 'error_bad_email', short_password: 'error_short_password', bad_name: 'error_name' };

  app.get('/shop/signup', page((req, reply, v) => {
    if (v.member) return see(reply, '/shop/account');
    return signupPage(context(req, reply, v), safeNext((req.query as Record<string, unknown>).next), null);
  }));
  app.post('/shop/signup', page(async (req, reply, v) => {
    const f = (req.body ?? {}) as Form;
    const next = safeNext(f.next);
    const email = str(f.email, 320);
    try {
      const result = await signUp(shop, throttle, req, reply, v, { email, name: str(f.name, 200), password: str(f.password, 1024) });
      if (result.kind === 'signed_in') return see(reply, next);
      if (result.kind === 'throttled') return reply.code(429).header('Retry-After', String(result.retryAfterSeconds)).send(loginPage(context(req, reply, v), next, v.t('error_too_many', { n: result.retryAfterSeconds }), email));
      // The e-mail has an account and this is not its password: the login form, without saying so.
      return loginPage(context(req, reply, v), next, null, email, v.t('notice_check_login'));
    } catch (err) {
      if (!(err instanceof SignUpError)) throw err;
      return reply.code(400).send(signupPage(context(req, reply, v), next, v.t(signUpErrors[err.code]), { email, name: str(f.name, 200) }));
    }
  }));

  app.get('/shop/login', page((req, reply, v) => {
    if (v.member) return see(reply, '/shop/account');
    return loginPage(context(req, reply, v), safeNext((req.query as Record<string, unknown>).next), null);
  }));
  app.post('/shop/login', page(async (req, reply, v) => {
    const f = (req.body ?? {}) as Form;
    const next = safeNext(f.next);
    const email = str(f.email, 320);
    const result = await logIn(shop, throttle, req, reply, v, { email, password: str(f.password, 1024) });
    if (result.kind === 'signed_in') return see(reply, next);
    if (result.kind === 'throttled') return reply.code(429).header('Retry-After', String(result.retryAfterSeconds)).send(loginPage(context(req, reply, v), next, v.t('error_too_many', { n: result.retryAfterSeconds }), email));
    return reply.code(401).send(loginPage(context(req, reply, v), next, v.t('error_bad_login'), email));
  }));

  app.post('/shop/logout', page(async (req, reply, v) => {
    await logOut(shop, req, reply, v);
    return see(reply, '/shop?bye=1');
  }));

  app.get('/shop/account', page((req, reply, v) => {
    if (!v.member) return loginFirst(req, reply);
    const q = req.query as Record<string, unknown>;
    return accountPage(context(req, reply, v), shop.orders.forCustomer(v.member.customer_id), standing(shop.orders.netSpend(v.member.customer_id)), q.saved === '1' ? v.t('saved') : null, null);
  }));
  app.post('/shop/account', page(async (req, reply, v) => {
    if (!v.member) return loginFirst(req, reply);
    const f = (req.body ?? {}) as Form;
    try {
      v.member = await shop.members.updateProfile(v.member.customer_id, { name: str(f.name, 200) });
    } catch (err) {
      if (!(err instanceof SignUpError)) throw err;
      return reply.code(400).send(accountPage(context(req, reply, v), shop.orders.forCustomer(v.member.customer_id), standing(shop.orders.netSpend(v.member.customer_id)), null, v.t(signUpErrors[err.code])));
    }
    return see(reply, '/shop/account?saved=1');
  }));
}
