// Cart, checkout and order pages. Amounts are shown in the visitor's currency with the charge in the
// shop's currency next to them; orders show the amounts fixed at checkout.
import type { Product } from '../catalogue.ts';
import type { CartLine } from '../cart.store.ts';
import { html, type SafeHtml } from '../html.ts';
import type { Order, OrderHistoryEntry } from '../orders.store.ts';
import { allowedActions } from '../order-state.ts';
import type { Shelf } from '../shop-recs.ts';
import { displayPrice, layout, money, priceText, productHref, shelf, stateBadge, type PageContext } from './layout.ts';

export interface PricedLine {
  line: CartLine;
  product: Product;
  unitDisplay: number | null;
  unitBase: number | null;
}

export function priceLines(ctx: PageContext, lines: CartLine[], lookup: (id: string) => Product | undefined): PricedLine[] {
  const out: PricedLine[] = [];
  for (const line of lines) {
    const product = lookup(line.product_id);
    if (!product) continue;
    out.push({ line, product, unitDisplay: displayPrice(ctx, product), unitBase: ctx.money.toBase(product.price, product.currency) });
  }
  return out;
}

function totals(ctx: PageContext, lines: PricedLine[]): { display: number; base: number } {
  const display = lines.reduce((s, l) => s + (l.unitDisplay ?? 0) * l.line.quantity, 0);
  const base = lines.reduce((s, l) => s + (l.unitBase ?? 0) * l.line.quantity, 0);
  return { display: Math.round(display * 100) / 100, base: Math.round(base * 100) / 100 };
}

function chargeNote(ctx: PageContext, t: { display: number; base: number }): SafeHtml {
  if (ctx.currency === ctx.money.base) return html``;
  return html`<p class="muted" id="charge-note">${ctx.t('charged_in', { amount: money(ctx, t.base, ctx.money.base), display: money(ctx, t.display) })}</p>`;
}

export function cartPage(ctx: PageContext, lines: PricedLine[], recs: Shelf, error: string | null, notice: string | null): string {
  const t = ctx.t;
  const sum = totals(ctx, lines);
  const body = html`<h1>${t('cart')}</h1>
${error ? html`<p class="error" id="error">${error}</p>` : ''}${notice ? html`<p class="notice" id="notice">${notice}</p>` : ''}
${lines.length === 0 ? html`<p id="cart-empty">${t('cart_empty')}</p>` : html`<table id="cart-lines"><thead><tr><th></th><th class="right">${t('quantity')}</th><th class="right">${t('subtotal')}</th></tr></thead><tbody>
${lines.map((l) => html`<tr data-line="${l.product.product_id}"><td><a href="${productHref(l.product)}">${l.product.title}</a><div class="muted">${priceText(ctx, l.product)}</div></td>
<td class="right"><form method="post" action="/shop/cart/update" class="row" style="justify-content:flex-end" data-shop-cart-line data-product-id="${l.product.product_id}" data-quantity="${l.line.quantity}" data-category="${l.product.category}"${l.unitDisplay !== null ? html` data-price="${l.unitDisplay}" data-currency="${ctx.currency}"` : ''}>
<input type="hidden" name="product_id" value="${l.product.product_id}"><input type="number" name="quantity" value="${l.line.quantity}" min="0" max="99" aria-label="${t('quantity')}">
<button class="secondary" type="submit" name="update" value="1">${t('update')}</button><button class="danger" type="submit" name="remove" value="1">${t('remove')}</button></form></td>
<td class="right">${l.unitDisplay === null ? '' : money(ctx, l.unitDisplay * l.line.quantity)}</td></tr>`)}
</tbody><tfoot><tr><th colspan="2" class="right">${t('total')}</th><th class="right" id="cart-total">${money(ctx, sum.display)}</th></tr></tfoot></table>
${chargeNote(ctx, sum)}
<p><a class="btn" href="/shop/checkout" id="to-checkout">${t('checkout')}</a></p>`}
${shelf(ctx, recs, t('recommended_for_you'), 'cart')}`;
  return layout(ctx, t('cart'), body);
}

export function checkoutPage(ctx: PageContext, lines: PricedLine[], error: string | null): string {
  const t = ctx.t;
  const sum = totals(ctx, lines);
  if (!ctx.member) {
    const body = html`<h1>${t('checkout')}</h1><p>${t('login_to_checkout')}</p>
<p class="row"><a class="btn" href="/shop/login?next=%2Fshop%2Fcheckout">${t('login')}</a><a class="btn secondary" href="/shop/signup?next=%2Fshop%2Fcheckout">${t('signup')}</a></p>`;
    return layout(ctx, t('checkout'), body);
  }
  const items = lines.map((l) => ({ product_id: l.product.product_id, quantity: l.line.quantity, price: l.unitDisplay ?? 0, ...(l.product.category ? { category: l.product.category } : {}) }));
  // data-shop-checkout-*: shop.js reports checkout_started through cvm.js.
  const body = html`<h1>${t('checkout')}</h1>
${error ? html`<p class="error" id="error">${error}</p>` : ''}
${lines.length === 0 ? html`<p>${t('cart_empty')}</p>` : html`<div id="checkout-summary" data-shop-checkout-value="${sum.display}" data-shop-checkout-currency="${ctx.currency}" data-shop-checkout-items="${JSON.stringify(items)}">
<table><tbody>${lines.map((l) => html`<tr><td>${l.product.title} × ${l.line.quantity}</td><td class="right">${l.unitDisplay === null ? '' : money(ctx, l.unitDisplay * l.line.quantity)}</td></tr>`)}</tbody>
<tfoot><tr><th>${t('total')}</th><th class="right" id="checkout-total">${money(ctx, sum.display)}</th></tr></tfoot></table>
${chargeNote(ctx, sum)}
<form method="post" action="/shop/checkout"><input type="hidden" name="currency" value="${ctx.currency}"><p><button type="submit" id="place-order">${t('place_order')}</button></p></form></div>`}`;
  return layout(ctx, t('checkout'), body);
}

function orderTotals(ctx: PageContext, o: Order, id?: string): SafeHtml {
  const charged = money(ctx, o.total, o.currency);
  return o.display_currency === o.currency
    ? html`<b${id ? html` id="${id}"` : ''}>${charged}</b>`
    : html`<b${id ? html` id="${id}"` : ''}>${charged}</b> <span class="muted">(≈ ${money(ctx, o.display_total, o.display_currency)})</span>`;
}

export function orderPage(ctx: PageContext, o: Order, history: OrderHistoryEntry[], error: string | null): string {
  const t = ctx.t;
  const allowed = allowedActions(o.state);
  const date = (ms: number) => new Date(ms).toLocaleString(ctx.lang, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }) + ' UTC';
  const body = html`<h1>${t('order')} <span id="order-id">${o.order_id}</span> ${stateBadge(ctx, o.state)}</h1>
${error ? html`<p class="error" id="error">${error}</p>` : ''}
<p class="muted">${t('placed_on', { date: date(o.created_ms) })}</p>
<table><tbody>${o.items.map((i) => html`<tr><td><a href="${productHref(i)}">${i.title}</a> × ${i.quantity}</td><td class="right">${money(ctx, i.price * i.quantity, o.currency)}</td></tr>`)}</tbody>
<tfoot><tr><th>${t('total')}</th><th class="right">${orderTotals(ctx, o, 'order-total')}</th></tr></tfoot></table>
<div class="row" style="margin:16px 0">
${allowed.includes('pay') ? html`<form method="post" action="/shop/orders/${o.order_id}/pay"><button type="submit" id="pay">${t('pay')}</button></form><span class="muted">${t('pay_note')}</span>` : ''}
${allowed.includes('cancel') ? html`<form method="post" action="/shop/orders/${o.order_id}/cancel"><button class="danger" type="submit" id="cancel">${t('cancel_order')}</button></form>` : ''}
</div>
<h2>${t('state')}</h2>
<table id="order-history"><tbody>${history.map((h) => html`<tr><td>${date(h.at_ms)}</td><td>${stateBadge(ctx, h.state)}</td><td class="muted">${h.reason}</td></tr>`)}</tbody></table>
<p><a href="/shop/account">${t('order_history')}</a></p>`;
  return layout(ctx, `${t('order')} ${o.order_id}`, body);
}

export function orderRows(ctx: PageContext, orders: Order[]): SafeHtml {
  if (!orders.length) return html`<p id="no-orders">${ctx.t('no_orders')}</p>`;
  return html`<table id="orders"><tbody>${orders.map(
    (o) => html`<tr data-order="${o.order_id}"><td><a href="/shop/orders/${o.order_id}">${o.order_id}</a><div class="muted">${new Date(o.created_ms).toISOString().slice(0, 10)}</div></td><td>${stateBadge(ctx, o.state)}</td><td class="right">${orderTotals(ctx, o)}</td></tr>`,
  )}</tbody></table>`;
}
