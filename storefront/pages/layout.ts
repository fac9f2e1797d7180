// The page frame (header, category bar, language and currency pickers, footer, the cvm.js loader) and
// the pieces every page uses: prices in the visitor's currency, product cards, recommendation shelves.
import { loaderTag } from '../../ingest/snippet/loader.ts';
import type { CategoryNode, Product } from '../catalogue.ts';
import { formatMoney, type Money } from '../currency.ts';
import { html, raw, type SafeHtml } from '../html.ts';
import { categoryLabel, type Lang, type Translate } from '../i18n.ts';
import type { Member } from '../members.store.ts';
import type { Shelf } from '../shop-recs.ts';

export interface PageContext {
  lang: Lang;
  t: Translate;
  currency: string;
  money: Money;
  member: Member | null;
  cartCount: number;
  nonce: string;
  /** Origin the snippet loads from and sends to (this server). */
  origin: string;
  writeKey: string;
  /** Current path and query, for the language and currency links. */
  url: URL;
  categories: CategoryNode[];
  loggedOut?: boolean;
  /** HMAC of the member's customer id: lets the page's identify link the visitor (see ingest/identity.ts). */
  identitySignature?: string;
}

/** Same page with one query parameter changed. */
export function withParam(url: URL, name: string, value: string | null): string {
  const u = new URL(url.toString());
  if (value === null) u.searchParams.delete(name);
  else u.searchParams.set(name, value);
  return u.pathname + u.search;
}

export function categoryHref(node: { slug: string }): string {
  return `/shop/c/${node.slug.split('/').map(encodeURIComponent).join('/')}`;
}

export function productHref(p: { product_id: string }): string {
  return `/shop/p/${encodeURIComponent(p.product_id)}`;
}

export function categoryName(path: string, lang: Lang): string {
  return path.split(' > ').map((l) => categoryLabel(l, lang)).join(' › ');
}

/** A product's price in the visitor's currency (null when no rate). */
export function displayPrice(ctx: PageContext, p: Product): number | null {
  return ctx.money.convert(p.price, p.currency, ctx.currency);
}

export function money(ctx: PageContext, amount: number, currency = ctx.currency): string {
  return formatMoney(amount, currency, ctx.lang);
}

export function priceText(ctx: PageContext, p: Product): string {
  const d = displayPrice(ctx, p);
  return d === null ? formatMoney(p.price, p.currency, ctx.lang) : formatMoney(d, ctx.currency, ctx.lang);
}

function hue(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) % 360;
  return h;
}

export function thumb(p: Product): SafeHtml {
  const initials = p.title.split(/\s+/).filter((w) => /^[\p{L}\p{N}]/u.test(w)).slice(0, 2).map((w) => w[0]!.toUpperCase()).join('');
  const h = hue(p.category || p.title);
  return html`<div class="thumb" style="background:linear-gradient(135deg,hsl(${h},45%,42%),hsl(${(h + 40) % 360},55%,58%))" aria-hidden="true">${initials}</div>`;
}

export function stockText(ctx: PageContext, p: Product): string {
  if (p.stock <= 0) return ctx.t('out_of_stock');
  if (p.stock <= 5) return ctx.t('low_stock', { n: p.stock });
  return ctx.t('in_stock');
}

/** A card in a listing (category, search): a plain link, so cvm.js does not count it as a product view. */
export function productCard(ctx: PageContext, p: Product): SafeHtml {
  return html`<a class="card" href="${productHref(p)}">${thumb(p)}<span class="t">${p.title}</span><span class="price">${priceText(ctx, p)}</span><span class="muted">${stockText(ctx, p)}</span></a>`;
}

/**
 * A recommendation shelf: data-cvm-list-id on the container and data-cvm-product-id on each item, so
 * cvm.js sends rec_impression when it is seen and rec_click when an item is clicked.
 */
export function shelf(ctx: PageContext, s: Shelf, title: string, placement: string): SafeHtml {
  if (!s.products.length) return html``;
  return html`<section class="shelf" data-shelf="${s.kind}" data-cvm-list-id="${s.listId}" data-cvm-placement="${placement}">
<h2>${title}</h2><div class="grid">${s.products.map(
    ({ product: p, reason }) =>
      html`<a class="card" href="${productHref(p)}" data-cvm-product-id="${p.product_id}" data-reason="${reason}">${thumb(p)}<span class="t">${p.title}</span><span class="price">${priceText(ctx, p)}</span></a>`,
  )}</div></section>`;
}

export function stateBadge(ctx: PageContext, state: string): SafeHtml {
  const key = `state_${state}` as Parameters<Translate>[0];
  return html`<span class="badge state-${state}" data-state="${state}">${ctx.t(key)}</span>`;
}

export function layout(ctx: PageContext, title: string, body: SafeHtml, opts: { bodyAttrs?: Record<string, string> } = {}): string {
  const t = ctx.t;
  const loader = loaderTag({ host: ctx.origin, key: ctx.writeKey, flushAt: 10, flushInterval: 2000 }).replace('<script', `<script nonce="${ctx.nonce}"`);
  const attrs: Record<string, string> = { ...(opts.bodyAttrs ?? {}) };
  if (ctx.member) attrs['data-shop-customer'] = ctx.member.customer_id;
  if (ctx.member && ctx.identitySignature) attrs['data-shop-customer-sig'] = ctx.identitySignature;
  if (ctx.loggedOut) attrs['data-shop-logged-out'] = '';
  const bodyAttrs = Object.entries(attrs).map(([k, v]) => html` ${raw(k.replace(/[^a-z0-9-]/g, ''))}="${v}"`);
  const currencies = ctx.money.pickerCurrencies();
  const hidden = [...ctx.url.searchParams].filter(([k]) => k !== 'currency').map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`);
  const page = html`<!doctype html>
<html lang="${ctx.lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · ${t('shop_name')}</title><link rel="stylesheet" href="/shop/assets/shop.css">
${raw(loader)}
<script src="/shop/assets/shop.js" defer></script></head>
<body${bodyAttrs}>
<header class="top"><div class="bar">
<a class="logo" href="/shop">${t('shop_name')}</a>
<form action="/shop/search" method="get" role="search"><input type="search" name="q" placeholder="${t('search_placeholder')}" aria-label="${t('search')}"><button class="secondary" type="submit">${t('search')}</button></form>
<a href="/shop/cart" id="cart-link">${t('cart')} (<span id="cart-count">${ctx.cartCount}</span>)</a>
${ctx.member ? html`<a href="/shop/account" id="account-link">${t('account')}</a>` : html`<a href="/shop/login" id="login-link">${t('login')}</a> <a href="/shop/signup" id="signup-link">${t('signup')}</a>`}
</div></header>
<nav class="cats"><div class="bar">
${ctx.categories.map((c) => html`<a href="${categoryHref(c)}">${categoryLabel(c.name, ctx.lang)}</a>`)}
<span style="margin-left:auto" class="row">
<a href="${withParam(ctx.url, 'lang', 'en')}" hreflang="en" lang="en">English</a> · <a href="${withParam(ctx.url, 'lang', 'zh-CN')}" hreflang="zh-CN" lang="zh-CN">简体中文</a>
<form method="get" action="${ctx.url.pathname}" class="inline">${hidden}<label class="inline" for="currency-picker" style="display:inline;margin:0 4px;font-weight:400">${t('currency')}</label><select id="currency-picker" name="currency">${currencies.map((c) => html`<option value="${c}"${c === ctx.currency ? raw(' selected') : ''}>${c}</option>`)}</select><noscript><button type="submit">OK</button></noscript></form>
</span></div></nav>
<main>${body}</main>
<footer>${t('prices_note', { display: ctx.currency, base: ctx.money.base })}</footer>
</body></html>`;
  return page.value;
}
