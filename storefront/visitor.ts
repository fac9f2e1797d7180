// Who is asking: language, display currency, member session, the anonymous id cvm.js uses, and the
// cart. Shared by the HTML pages and the JSON endpoints of the shop.
import crypto from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ShopDeps } from './shop.ts';
import { presentedKey, resolvePrincipal } from '../api/auth.ts';
import { identitySecrets } from '../ingest/identity.ts';
import { isHttps, readCookies, setCookie } from './cookies.ts';
import { chooseCurrency } from './currency.ts';
import { langFromAcceptLanguage, parseLang, translator, type Lang, type Translate } from './i18n.ts';
import type { Member } from './members.store.ts';
import type { Shop } from './shop.ts';

export const COOKIE = {
  session: 'cvm_shop_session',
  cart: 'cvm_cart',
  lang: 'cvm_lang',
  currency: 'cvm_currency',
  /** The anonymous id cvm.js keeps; set here when the visitor has none yet, so both sides agree. */
  anonymous: 'cvm_aid',
} as const;

const YEAR = 365 * 86_400;
const ID_RE = /^[A-Za-z0-9_-]{8,128}$/;

export interface Visitor {
  lang: Lang;
  t: Translate;
  currency: string;
  member: Member | null;
  anonymousId: string;
  /** The member's cart, or the visitor's (cookie); null until a visitor adds something. */
  cartId: string | null;
  sessionToken: string | undefined;
  /** A simulated clock (demo traffic): only honoured with the admin key. */
  simTime: number | undefined;
  /** The visitor's locale (Accept-Language's first tag), for server-side events. */
  locale: string;
  /** The shop's signature of the member's customer id, for the page's cvm.identify (identity verification). */
  identitySignature: string | undefined;
}

export function memberCartId(customerId: string): string {
  return `member:${customerId}`;
}

export function visitorFor(deps: ShopDeps, shop: Shop, req: FastifyRequest, reply: FastifyReply): Visitor {
  const cookies = readCookies(req);
  const q = (req.query ?? {}) as Record<string, unknown>;
  const secure = isHttps(req);
  const acceptLanguage = typeof req.headers['accept-language'] === 'string' ? req.headers['accept-language'] : undefined;

  const queryLang = parseLang(typeof q.lang === 'string' ? q.lang : null);
  if (queryLang && queryLang !== cookies[COOKIE.lang]) setCookie(reply, COOKIE.lang, queryLang, { maxAgeSeconds: YEAR, path: '/shop', secure });
  const lang: Lang = queryLang ?? parseLang(cookies[COOKIE.lang]) ?? langFromAcceptLanguage(acceptLanguage) ?? 'en';

  const chosen = chooseCurrency({ query: typeof q.currency === 'string' ? q.currency : undefined, cookie: cookies[COOKIE.currency], acceptLanguage }, shop.money);
  if (chosen.fromQuery && chosen.currency !== cookies[COOKIE.currency]) setCookie(reply, COOKIE.currency, chosen.currency, { maxAgeSeconds: YEAR, path: '/shop', secure });

  const sessionToken = cookies[COOKIE.session];
  const member = shop.members.memberForSession(sessionToken);

  let anonymousId = cookies[COOKIE.anonymous] ?? '';
  if (!/^[A-Za-z0-9_.:-]{8,128}$/.test(anonymousId)) {
    anonymousId = crypto.randomUUID();
    // Readable by cvm.js (not HttpOnly): it adopts this id instead of making its own.
    setCookie(reply, COOKIE.anonymous, anonymousId, { maxAgeSeconds: YEAR, path: '/', secure });
  }

  const visitorCart = cookies[COOKIE.cart];
  const cartId = member ? memberCartId(member.customer_id) : visitorCart && ID_RE.test(visitorCart) ? `visitor:${visitorCart}` : null;

  let simTime: number | undefined;
  const sim = req.headers['x-cvm-sim-time'];
  if (typeof sim === 'string' && /^\d{12,14}$/.test(sim) && resolvePrincipal(deps, presentedKey(req))?.role === 'admin') simTime = Number(sim);

  const identitySignature = member ? identitySecrets(deps.config).sign(deps.config.keys.demoSite, member.customer_id) : undefined;
  return {
    lang, t: translator(lang), currency: chosen.currency, member, anonymousId, cartId, sessionToken, simTime,
    locale: (acceptLanguage ?? '').split(',')[0]!.split(';')[0]!.trim().slice(0, 35), identitySignature,
  };
}

/** The visitor's cart id, creating the cookie on first use. */
export function ensureCartId(v: Visitor, req: FastifyRequest, reply: FastifyReply): string {
  if (v.cartId) return v.cartId;
  const token = crypto.randomBytes(16).toString('base64url');
  setCookie(reply, COOKIE.cart, token, { maxAgeSeconds: 60 * 86_400, path: '/shop', httpOnly: true, secure: isHttps(req) });
  v.cartId = `visitor:${token}`;
  return v.cartId;
}

/** The visitor cart's id from the cookie (for merging it into the member's cart at login). */
export function visitorCartId(req: FastifyRequest): string | null {
  const c = readCookies(req)[COOKIE.cart];
  return c && ID_RE.test(c) ? `visitor:${c}` : null;
}

export function setSessionCookie(req: FastifyRequest, reply: FastifyReply, token: string | null): void {
  setCookie(reply, COOKIE.session, token ?? '', { maxAgeSeconds: token ? 30 * 86_400 : 0, path: '/shop', httpOnly: true, sameSite: 'Lax', secure: isHttps(req) });
}

/**
 * State-changing requests must come from this site: browsers send Origin (and Sec-Fetch-Site) with
 * POSTs; a request from another site is refused even before SameSite=Lax keeps its cookies away.
 */
export function crossSite(req: FastifyRequest): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return true;
  const origin = req.headers.origin;
  if (typeof origin !== 'string' || origin === 'null') return typeof origin === 'string';
  try {
    return new URL(origin).host !== req.host;
  } catch {
    return true;
  }
}
