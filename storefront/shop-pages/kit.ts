// What every shop page handler uses: the visitor, the page context (with the page's security headers),
// and the replies pages share: redirect after a form, not found, log in first.
import crypto from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { messagePage } from '../pages/catalogue.pages.ts';
import type { PageContext } from '../pages/layout.ts';
import type { Shop, ShopDeps } from '../shop.ts';
import { crossSite, visitorFor, type Visitor } from '../visitor.ts';

type PageResult = string | FastifyReply | void;
export type PageHandler = (req: FastifyRequest, reply: FastifyReply, v: Visitor) => Promise<PageResult> | PageResult;

export interface PageKit {
  shop: Shop;
  /** Sets the page's headers and returns what the page templates need. */
  context(req: FastifyRequest, reply: FastifyReply, v: Visitor, extra?: Partial<PageContext>): PageContext;
  /** A route handler that knows its visitor; refuses cross-site form posts. */
  page(handler: PageHandler): (req: FastifyRequest, reply: FastifyReply) => Promise<PageResult>;
  /** 303 to the next page (after a form post). */
  see(reply: FastifyReply, url: string): FastifyReply;
  notFound(req: FastifyRequest, reply: FastifyReply, v: Visitor): FastifyReply;
  /** To the login form, coming back here after it. */
  loginFirst(req: FastifyRequest, reply: FastifyReply): FastifyReply;
}

/** Who a recommendation shelf is for: the member if logged in, and the browser's anonymous id. */
export const shelfAudience = (v: Visitor) => ({ ...(v.member ? { customerId: v.member.customer_id } : {}), anonymousId: v.anonymousId });

const CSP = (nonce: string) =>
  `default-src 'self'; script-src 'self' 'nonce-${nonce}'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'`;

export function pageKit(deps: ShopDeps, shop: Shop): PageKit {
  const context: PageKit['context'] = (req, reply, v, extra = {}) => {
    const nonce = crypto.randomBytes(16).toString('base64');
    reply
      .type('text/html; charset=utf-8')
      .header('Content-Security-Policy', CSP(nonce))
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
  };

  const see: PageKit['see'] = (reply, url) => reply.code(303).header('Location', url).send();

  return {
    shop,
    context,
    page: (handler) => async (req, reply) => {
      const v = visitorFor(deps, shop, req, reply);
      if (req.method === 'POST' && crossSite(req)) return reply.code(403).type('text/plain').send('cross-site form posts are refused');
      return handler(req, reply, v);
    },
    see,
    notFound: (req, reply, v) => reply.code(404).send(messagePage(context(req, reply, v), v.t('error_not_found'), v.t('error_not_found'))),
    loginFirst: (req, reply) => see(reply, `/shop/login?next=${encodeURIComponent(req.url.split('?')[0]!)}`),
  };
}
