// Browsing: the home page, category listings, search results and product pages.
import type { CategoryNode, Product } from '../catalogue.ts';
import { html, type SafeHtml } from '../html.ts';
import { categoryLabel } from '../i18n.ts';
import type { Shelf } from '../shop-recs.ts';
import { categoryHref, categoryName, displayPrice, layout, priceText, productCard, shelf, stockText, thumb, withParam, type PageContext } from './layout.ts';

export const PAGE_SIZE = 24;

function pager(ctx: PageContext, page: number, total: number): SafeHtml {
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  if (pages <= 1) return html``;
  return html`<div class="pager">${page > 1 ? html`<a class="btn secondary" rel="prev" href="${withParam(ctx.url, 'page', String(page - 1))}">${ctx.t('previous')}</a>` : ''}
<span class="muted">${ctx.t('page_n', { n: page })} / ${pages}</span>
${page < pages ? html`<a class="btn secondary" rel="next" href="${withParam(ctx.url, 'page', String(page + 1))}">${ctx.t('next')}</a>` : ''}</div>`;
}

export function homePage(ctx: PageContext, forYou: Shelf): string {
  const t = ctx.t;
  const title = forYou.kind === 'for_you' ? t('recommended_for_you') : t('popular_now');
  const body = html`${ctx.member ? html`<p class="notice">${t('welcome', { name: ctx.member.name })}</p>` : ''}
${shelf(ctx, forYou, title, 'home')}
<h2>${t('categories')}</h2>
<div class="grid">${ctx.categories.map((c) => html`<a class="card" href="${categoryHref(c)}"><span class="t"><b>${categoryLabel(c.name, ctx.lang)}</b></span><span class="muted">${t('products_in', { n: c.count })}</span></a>`)}</div>`;
  return layout(ctx, t('home'), body);
}

export function categoryPage(ctx: PageContext, node: CategoryNode, products: Product[], page: number, popular: Shelf): string {
  const t = ctx.t;
  const slice = products.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
  const crumbs = node.path.split(' > ');
  const body = html`<p class="muted"><a href="/shop">${t('home')}</a> › ${crumbs.map((c, i) => (i < crumbs.length - 1 ? html`${categoryLabel(c, ctx.lang)} › ` : ''))}</p>
<h1>${categoryLabel(node.name, ctx.lang)}</h1>
${node.children.length ? html`<p class="row">${node.children.map((c) => html`<a class="btn secondary" href="${categoryHref(c)}">${categoryLabel(c.name, ctx.lang)} (${c.count})</a>`)}</p>` : ''}
<p class="muted">${t('products_in', { n: products.length })}</p>
<div class="grid" id="listing">${slice.map((p) => productCard(ctx, p))}</div>
${pager(ctx, page, products.length)}
${shelf(ctx, popular, t('popular_now'), 'category')}`;
  return layout(ctx, categoryName(node.path, ctx.lang), body);
}

export function searchPage(ctx: PageContext, query: string, results: Product[], page: number): string {
  const t = ctx.t;
  const slice = results.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
  // data-shop-search-*: shop.js reports the search (query and result count) through cvm.js.
  const body = html`<h1>${t('search')}</h1>
<form action="/shop/search" method="get" class="row"><input type="search" name="q" value="${query}" aria-label="${t('search')}" style="padding:8px;min-width:280px"><button type="submit">${t('search')}</button></form>
${query ? html`<p id="search-summary" data-shop-search-query="${query}" data-shop-search-results="${results.length}">${results.length ? t('results_for', { n: results.length, q: query }) : t('no_results', { q: query })}</p>` : ''}
<div class="grid" id="listing">${slice.map((p) => productCard(ctx, p))}</div>
${pager(ctx, page, results.length)}`;
  return layout(ctx, query ? `${t('search')}: ${query}` : t('search'), body);
}

export function productPage(ctx: PageContext, p: Product, category: CategoryNode | undefined, similar: Shelf, together: Shelf, notice: string | null): string {
  const t = ctx.t;
  const dp = displayPrice(ctx, p);
  const buyable = p.listed === 1 && p.stock > 0;
  // data-cvm-*: cvm.js records the product view, and add_to_cart when the button is clicked.
  const body = html`<p class="muted"><a href="/shop">${t('home')}</a>${category ? html` › <a href="${categoryHref(category)}" data-category-link>${categoryName(category.path, ctx.lang)}</a>` : ''}</p>
${notice ? html`<p class="notice" id="notice">${notice}</p>` : ''}
<section class="product" data-cvm-product-id="${p.product_id}" data-cvm-title="${p.title}" data-cvm-category="${p.category}"${dp !== null ? html` data-cvm-price="${dp}" data-cvm-currency="${ctx.currency}"` : ''}>
${thumb(p)}
<div><h1>${p.title}</h1>
<p class="price" id="price" style="font-size:22px">${priceText(ctx, p)}</p>
${ctx.currency !== ctx.money.base ? html`<p class="muted">${t('prices_note', { display: ctx.currency, base: ctx.money.base })}</p>` : ''}
<p id="stock" class="muted">${p.listed ? stockText(ctx, p) : t('not_listed')}</p>
<p>${p.description}</p>
${p.tags.length ? html`<p class="muted">${t('tags')}: ${p.tags.join(', ')}</p>` : ''}
${buyable ? html`<form method="post" action="/shop/cart/add" class="row" id="add-form"><input type="hidden" name="product_id" value="${p.product_id}">
<label for="qty" style="margin:0">${t('quantity')}</label><input id="qty" type="number" name="quantity" value="1" min="1" max="${Math.min(99, p.stock)}" data-shop-quantity>
<button type="submit" id="add-to-cart" data-cvm-add-to-cart data-cvm-quantity="1">${t('add_to_cart')}</button></form>` : ''}
</div></section>
${shelf(ctx, together, t('bought_together'), 'product_bought_together')}
${shelf(ctx, similar, t('similar_items'), 'product_similar')}`;
  return layout(ctx, p.title, body);
}

export function messagePage(ctx: PageContext, title: string, message: string): string {
  return layout(ctx, title, html`<h1>${title}</h1><p class="error">${message}</p><p><a href="/shop">${ctx.t('back_to_shop')}</a></p>`);
}
