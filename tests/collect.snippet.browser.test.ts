// cvm.js in real headless Chromium: a small shop (its own origin) loads the paste-in loader, which
// loads /cvm.js from a real collector on another origin; what the collector appended to the embedded
// event log is read back through a test consumer group.
import { gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SNIPPET_GZIP_BUDGET, buildSnippet } from '../ingest/snippet/build.ts';
import { loaderTag } from '../ingest/snippet/loader.ts';
import { artifactPath, hasChromium, launchChromium } from './helpers/browser.ts';
import { countByType, startCollector, type Collected, type CollectorServer } from './helpers/collector-server.ts';

const KEY = 'wk_demo_shop';

interface Product {
  id: string;
  title: string;
  category: string;
  price: number;
  list: string;
  recs: Array<{ id: string; name: string; href: string }>;
}

const PRODUCTS: Record<string, Product> = {
  p1: {
    id: 'sku-1',
    title: 'Trail Runner',
    category: 'shoes',
    price: 59.9,
    list: 'list-p1',
    recs: [
      { id: 'sku-2', name: 'Rain Jacket', href: '/shop/p2' },
      { id: 'sku-3', name: 'Wool Socks', href: '/shop/p3' },
      { id: 'sku-4', name: 'Water Bottle', href: '/shop/p4' },
    ],
  },
  p2: {
    id: 'sku-2',
    title: 'Rain Jacket',
    category: 'outerwear',
    price: 120,
    list: 'list-p2',
    recs: [{ id: 'sku-1', name: 'Trail Runner', href: '/shop/p1' }],
  },
};

function productMarkup(p: Product): string {
  const recs = p.recs.map((r) => `<a class="card" data-spa href="${r.href}" data-cvm-product-id="${r.id}">${r.name}</a>`).join('');
  return (
    `<section class="product" data-cvm-product-id="${p.id}" data-cvm-category="${p.category}" data-cvm-price="${p.price}" data-cvm-currency="eur" data-cvm-title="${p.title}">` +
    `<h2>${p.title}</h2><p class="price">EUR ${p.price.toFixed(2)}</p>` +
    `<button id="add" data-cvm-add-to-cart data-cvm-quantity="2">Add 2 to cart</button></section>` +
    `<aside data-cvm-list-id="${p.list}" data-cvm-placement="product_page"><h3>You may also like</h3>${recs}</aside>`
  );
}

type Mode = 'fast' | 'lazy' | 'consent' | 'dnt';

/** The shop's page: loader in <head>, a product rendered by a tiny SPA router (pushState + popstate). */
function shopPage(collector: string, mode: Mode): string {
  const loader = loaderTag({
    host: collector,
    key: KEY,
    flushAt: mode === 'lazy' ? 100 : 5,
    flushInterval: mode === 'lazy' ? 60_000 : 300,
    ...(mode === 'consent' ? { requireConsent: true } : {}),
    ...(mode === 'dnt' ? { honorDnt: true } : {}),
  });
  const templates = Object.entries(PRODUCTS)
    .map(([k, p]) => `<template id="tpl-${k}">${productMarkup(p)}</template>`)
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Demo Shop</title>
<style>body{font-family:sans-serif;margin:24px}.product{border:1px solid #999;padding:12px;margin:12px 0}
.card{display:inline-block;border:1px solid #ccc;padding:16px;margin:6px}aside{background:#f4f4f4;padding:8px}</style>
${loader}</head><body><header><h1>Demo Shop</h1><a id="to-thanks" href="/shop/thanks?mode=${mode}">Go to checkout</a></header>
<main id="main"></main>${templates}
<script>
function render() {
  var k = /p2$/.test(location.pathname) ? 'p2' : 'p1';
  var main = document.getElementById('main');
  main.innerHTML = '';
  main.appendChild(document.getElementById('tpl-' + k).content.cloneNode(true));
  document.title = main.querySelector('h2').textContent + ' | Demo Shop';
}
render();
document.addEventListener('click', function (e) {
  var a = e.target.closest('a[data-spa]');
  if (!a) return;
  e.preventDefault();
  history.pushState({}, '', a.getAttribute('href'));
  render();
});
window.addEventListener('popstate', render);
</script></body></html>`;
}

function thanksPage(collector: string, mode: Mode): string {
  const loader = loaderTag({ host: collector, key: KEY, flushAt: mode === 'lazy' ? 100 : 5, flushInterval: mode === 'lazy' ? 60_000 : 300 });
  return `<!doctype html><html><head><meta charset="utf-8"><title>Checkout | Demo Shop</title>${loader}</head><body><h1>Checkout</h1></body></html>`;
}

async function startShop(collectorUrl: () => string): Promise<FastifyInstance> {
  const shop = Fastify();
  shop.get('/shop/:page', async (req, reply) => {
    const { page } = req.params as { page: string };
    const mode = ((req.query as { mode?: string }).mode ?? 'fast') as Mode;
    reply.type('text/html; charset=utf-8');
    return page === 'thanks' ? thanksPage(collectorUrl(), mode) : shopPage(collectorUrl(), mode);
  });
  await shop.listen({ host: '127.0.0.1', port: 0 });
  return shop;
}

const origin = (app: FastifyInstance) => `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

describe('cvm.js build', () => {
  it(`stays within ${SNIPPET_GZIP_BUDGET} bytes gzipped and targets ES2017`, async () => {
    const built = await buildSnippet();
    const gz = gzipSync(built.code, { level: 9 }).length;
    console.log(`cvm.js: ${built.code.length} bytes minified, ${gz} bytes gzipped (budget ${SNIPPET_GZIP_BUDGET})`);
    expect(gz).toBeLessThanOrEqual(SNIPPET_GZIP_BUDGET);
    expect(built.gzip.length).toBe(gz);
    // No syntax newer than ES2017 slipped through.
    expect(built.code).not.toMatch(/\?\?|\?\.[a-zA-Z_$]|\|\|=|&&=|\?\?=/);
  });
});

describe.skipIf(!hasChromium)('cvm.js in headless Chromium', () => {
  let collector: CollectorServer;
  let shop: FastifyInstance;
  let browser: Browser;
  let shopUrl: string;

  beforeAll(async () => {
    let collectorUrl = '';
    shop = await startShop(() => collectorUrl);
    shopUrl = origin(shop);
    // CORS per site: the collector accepts browser events from the shop's origin only.
    collector = await startCollector({ env: { CVM_DEMO_ORIGINS: shopUrl } });
    collectorUrl = collector.url;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await shop?.close();
    await collector?.close();
  });

  async function openShop(path: string, prepare?: (ctx: BrowserContext) => Promise<void>): Promise<{ ctx: BrowserContext; page: Page }> {
    const ctx = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    await prepare?.(ctx);
    const page = await ctx.newPage();
    await page.goto(shopUrl + path);
    await page.waitForFunction(() => (window as unknown as { cvm?: { v?: string } }).cvm?.v);
    return { ctx, page };
  }

  const anonymousId = (page: Page) => page.evaluate(() => localStorage.getItem('cvm_aid'));
  const of = (aid: string | null) => (rs: Collected[]) => rs.filter((r) => r.event.anonymous_id === aid);
  const settle = () => new Promise((r) => setTimeout(r, 1000)); // room for a duplicate to show up

  function expectOnce(rs: Collected[]): void {
    const ids = rs.map((r) => r.event.event_id);
    expect(new Set(ids).size).toBe(ids.length);
  }

  it('captures page and product views, add-to-cart, recommendations, identify and SPA page views exactly once', async () => {
    const { ctx, page } = await openShop('/shop/p1?utm_source=newsletter&utm_medium=email&utm_campaign=spring');
    const aid = await anonymousId(page);
    expect(aid).toMatch(/^[0-9a-f-]{36}$/);
    const mine = of(aid);
    await collector.waitFor((rs) => mine(rs).some((r) => r.event.type === 'rec_impression'), 'first page view, product view, impression');
    await page.screenshot({ path: artifactPath('collect-snippet-product-page.png') });

    await page.click('#add');
    await page.evaluate(() => (window as unknown as { cvm: { identify(id: string, t: object): void } }).cvm.identify('cust-42', { email: 'ana@example.com' }));
    await page.click('a[data-cvm-product-id="sku-2"]'); // a recommendation: rec_click, then SPA route to p2
    await page.waitForFunction(() => document.title.startsWith('Rain Jacket'));
    // Views are recorded 100 ms after a route change (one view for a burst, e.g. a redirect); a person
    // reads the page before going back.
    await collector.waitFor((rs) => mine(rs).some((r) => r.event.type === 'page_view' && r.event.context?.url?.endsWith('/shop/p2')), 'SPA page view of p2');
    await page.evaluate(() => (window as unknown as { cvm: { track(t: string, p: object): void } }).cvm.track('search', { query: 'gloves', results: 3 }));
    await page.evaluate(() => history.back()); // popstate back to p1
    await page.waitForFunction(() => document.title.startsWith('Trail Runner'));

    const expected = { page_view: 3, product_view: 3, rec_impression: 3, add_to_cart: 1, identify: 1, rec_click: 1, search: 1 };
    await collector.waitFor((rs) => mine(rs).length >= 13, 'all 13 events of the visit');
    await settle();
    const rs = mine(collector.records);
    expect(countByType(rs)).toEqual(expected);
    expectOnce(rs);
    for (const r of rs) {
      expect(r.reject).toBeUndefined();
      expect(r.site).toBe('demo');
      expect(r.source).toBe('browser');
    }

    const ev = rs.map((r) => r.event);
    const byType = (t: string) => ev.filter((e) => e.type === t);
    // One visit: one anonymous id and one session, the cookie and localStorage agreeing.
    expect(new Set(ev.map((e) => e.session_id)).size).toBe(1);
    const cookies = await ctx.cookies(shopUrl);
    expect(cookies.find((c) => c.name === 'cvm_aid')?.value).toBe(aid);

    const [pv1, pv2, pv3] = byType('page_view');
    expect(pv1!.context).toMatchObject({ utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'spring', library: { name: 'cvm.js' } });
    expect(pv1!.context?.url).toContain('/shop/p1?utm_source=newsletter');
    expect(pv1!.context?.screen).toEqual({ width: 1000, height: 700 });
    expect(pv1!.context?.user_agent).toContain('Chrome');
    expect(pv2!.context?.url).toBe(`${shopUrl}/shop/p2`);
    expect(pv2!.context?.referrer).toContain('/shop/p1?utm_source=newsletter');
    expect(pv2!.context?.title).toBe('Rain Jacket | Demo Shop');
    expect(pv3!.context?.url).toContain('/shop/p1');
    expect(pv3!.context?.referrer).toBe(`${shopUrl}/shop/p2`);

    expect(byType('product_view').map((e) => e.properties)).toEqual([
      { product_id: 'sku-1', category: 'shoes', price: 59.9, currency: 'EUR', title: 'Trail Runner' },
      { product_id: 'sku-2', category: 'outerwear', price: 120, currency: 'EUR', title: 'Rain Jacket' },
      { product_id: 'sku-1', category: 'shoes', price: 59.9, currency: 'EUR', title: 'Trail Runner' },
    ]);
    expect(byType('add_to_cart')[0]!.properties).toEqual({ product_id: 'sku-1', category: 'shoes', price: 59.9, currency: 'EUR', title: 'Trail Runner', quantity: 2 });
    expect(byType('rec_impression').map((e) => e.properties)).toEqual([
      { list_id: 'list-p1', placement: 'product_page', product_ids: ['sku-2', 'sku-3', 'sku-4'] },
      { list_id: 'list-p2', placement: 'product_page', product_ids: ['sku-1'] },
      { list_id: 'list-p1', placement: 'product_page', product_ids: ['sku-2', 'sku-3', 'sku-4'] },
    ]);
    expect(byType('rec_click')[0]!.properties).toEqual({ list_id: 'list-p1', placement: 'product_page', product_id: 'sku-2' });
    expect(byType('search')[0]!.properties).toEqual({ query: 'gloves', results: 3 });

    const identify = byType('identify')[0]!;
    expect(identify.customer_id).toBe('cust-42');
    expect(identify.traits).toEqual({ email: 'ana@example.com' });
    // Events made after identify carry the customer id; earlier ones do not.
    const identifiedAt = Date.parse(identify.ts as string);
    for (const e of ev) expect(e.customer_id ?? null).toBe(Date.parse(e.ts as string) >= identifiedAt ? 'cust-42' : null);
    for (const e of ev) {
      expect(typeof e.ts === 'string' && e.ts.endsWith('Z')).toBe(true);
      expect(Date.parse(e.sent_at as string)).toBeGreaterThanOrEqual(Date.parse(e.ts as string));
    }
    await page.screenshot({ path: artifactPath('collect-snippet-after-spa.png') });
    await ctx.close();
  });

  it('flushes queued events when the page is closed or left', async () => {
    // Lazy batching: nothing would be sent for a minute.
    const { ctx, page } = await openShop('/shop/p1?mode=lazy');
    const aid = await anonymousId(page);
    await page.click('#add');
    await page.evaluate(() => (window as unknown as { cvm: { track(t: string, p: object): void } }).cvm.track('search', { query: 'socks' }));
    await page.waitForTimeout(300);
    const queued = await page.evaluate(() => (window as unknown as { cvm: { stats(): { queued: number } } }).cvm.stats().queued);
    expect(queued).toBe(5); // page_view, product_view, rec_impression, add_to_cart, search
    expect(of(aid)(collector.records)).toHaveLength(0);

    await page.close({ runBeforeUnload: true });
    await collector.waitFor((rs) => of(aid)(rs).length >= 5, 'events flushed by closing the page');
    await settle();
    expect(countByType(of(aid)(collector.records))).toEqual({ page_view: 1, product_view: 1, rec_impression: 1, add_to_cart: 1, search: 1 });
    expectOnce(of(aid)(collector.records));

    // Leaving by a normal link: the next page's own events stay queued (lazy), the first page's arrive.
    const page2 = await ctx.newPage();
    await page2.goto(shopUrl + '/shop/p2?mode=lazy');
    await page2.waitForFunction(() => (window as unknown as { cvm?: { stats?(): { queued: number } } }).cvm?.stats?.().queued === 3);
    await page2.click('#to-thanks');
    await page2.waitForURL('**/shop/thanks**');
    await collector.waitFor((rs) => of(aid)(rs).length >= 8, 'events flushed by navigating away');
    await settle();
    const rs = of(aid)(collector.records);
    expect(countByType(rs)).toEqual({ page_view: 2, product_view: 2, rec_impression: 2, add_to_cart: 1, search: 1 });
    expectOnce(rs);
    expect(await page2.evaluate(() => (window as unknown as { cvm: { stats(): { queued: number } } }).cvm.stats().queued)).toBe(1); // the checkout page view
    await ctx.close();
  });

  it('queues events while the collector is down and delivers them once it is back on the same port', async () => {
    const { ctx, page } = await openShop('/shop/p1');
    const aid = await anonymousId(page);
    await collector.waitFor((rs) => of(aid)(rs).length >= 3, 'events of the first page view');
    // The collector may hold them before the browser has its answer; stop only once the page's queue is empty.
    await page.waitForFunction(() => (window as unknown as { cvm: { stats(): { queued: number } } }).cvm.stats().queued === 0);

    await collector.stop();
    await page.evaluate(() => {
      const cvm = (window as unknown as { cvm: { track(t: string, p: object): void } }).cvm;
      for (let i = 1; i <= 4; i++) cvm.track('wishlist_add', { product_id: `sku-${i}` });
    });
    await page.waitForFunction(() => (window as unknown as { cvm: { stats(): { retries: number } } }).cvm.stats().retries >= 2, undefined, { timeout: 15_000 });
    const during = await page.evaluate(() => ({
      stats: (window as unknown as { cvm: { stats(): Record<string, number> } }).cvm.stats(),
      stored: JSON.parse(localStorage.getItem('cvm_q') ?? '{"e":[]}').e.length as number,
    }));
    expect(during.stats.queued).toBe(4);
    expect(during.stored).toBe(4); // the offline queue survives a reload or a closed tab
    await page.screenshot({ path: artifactPath('collect-snippet-collector-down.png') });

    await collector.start();
    await collector.waitFor((rs) => of(aid)(rs).filter((r) => r.event.type === 'wishlist_add').length >= 4, 'queued events after the collector came back', 30_000);
    await settle();
    const rs = of(aid)(collector.records);
    expect(countByType(rs)).toEqual({ page_view: 1, product_view: 1, rec_impression: 1, wishlist_add: 4 });
    expectOnce(rs);
    expect(rs.filter((r) => r.event.type === 'wishlist_add').map((r) => (r.event.properties as { product_id: string }).product_id).sort()).toEqual([
      'sku-1',
      'sku-2',
      'sku-3',
      'sku-4',
    ]);
    await page.waitForFunction(() => (window as unknown as { cvm: { stats(): { queued: number } } }).cvm.stats().queued === 0);
    expect(await page.evaluate(() => localStorage.getItem('cvm_q'))).toBeNull();
    await ctx.close();
  });

  it('sends and stores nothing before consent, then everything held once consent is given', async () => {
    const batchRequests: string[] = [];
    const { ctx, page } = await openShop('/shop/p1?mode=consent');
    page.on('request', (r) => {
      if (r.url().includes('/v1/batch')) batchRequests.push(r.url());
    });
    await page.click('#add');
    await page.waitForTimeout(1200); // several flush intervals
    const before = await page.evaluate(() => ({
      stats: (window as unknown as { cvm: { stats(): Record<string, unknown> } }).cvm.stats(),
      storage: Object.keys(localStorage).filter((k) => k.startsWith('cvm_')),
      cookie: document.cookie,
    }));
    expect(batchRequests).toEqual([]);
    expect(before.storage).toEqual([]);
    expect(before.cookie).not.toContain('cvm_aid');
    expect(before.stats).toMatchObject({ consent: false, pending: 4, queued: 0 });
    await page.screenshot({ path: artifactPath('collect-snippet-before-consent.png') });

    await page.evaluate(() => (window as unknown as { cvm: { consent(g: boolean): void } }).cvm.consent(true));
    const aid = await anonymousId(page);
    await collector.waitFor((rs) => of(aid)(rs).length >= 4, 'events held until consent');
    await settle();
    expect(countByType(of(aid)(collector.records))).toEqual({ page_view: 1, product_view: 1, rec_impression: 1, add_to_cart: 1 });
    expect((await ctx.cookies(shopUrl)).find((c) => c.name === 'cvm_aid')?.value).toBe(aid);

    // Withdrawing consent forgets the visitor on this device.
    await page.evaluate(() => (window as unknown as { cvm: { consent(g: boolean): void } }).cvm.consent(false));
    const after = await page.evaluate(() => ({ storage: Object.keys(localStorage).filter((k) => k.startsWith('cvm_')), cookie: document.cookie }));
    expect(after.storage).toEqual(['cvm_consent']);
    expect(after.cookie).not.toContain('cvm_aid');
    await ctx.close();
  });

  it('honours Global Privacy Control when configured to', async () => {
    const seen: string[] = [];
    const { ctx, page } = await openShop('/shop/p1?mode=dnt', async (c) => {
      await c.addInitScript(() => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true }));
    });
    page.on('request', (r) => {
      if (r.url().includes('/v1/batch')) seen.push(r.url());
    });
    await page.click('#add');
    await page.waitForTimeout(800);
    const stats = await page.evaluate(() => (window as unknown as { cvm: { stats(): Record<string, unknown> } }).cvm.stats());
    expect(stats).toMatchObject({ dnt: true, consent: false, queued: 0, pending: 0 });
    expect(seen).toEqual([]);
    expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('cvm_')))).toEqual([]);
    await ctx.close();
  });

  it('starts a new session after 30 minutes of inactivity, keeping the anonymous id', async () => {
    const { ctx, page } = await openShop('/shop/p1');
    const aid = await anonymousId(page);
    await collector.waitFor((rs) => of(aid)(rs).length >= 3, 'first page events');
    const first = of(aid)(collector.records)[0]!.event.session_id;
    // Pretend the last activity was 31 minutes ago, as a tab left open over lunch would have it.
    await page.evaluate(() => {
      const s = JSON.parse(localStorage.getItem('cvm_sid')!);
      localStorage.setItem('cvm_sid', JSON.stringify({ id: s.id, t: Date.now() - 31 * 60_000 })); // the page's own clock: a session idle for 31 minutes
    });
    await page.evaluate(() => (window as unknown as { cvm: { track(t: string, p: object): void } }).cvm.track('search', { query: 'hat' }));
    await page.evaluate(() => (window as unknown as { cvm: { track(t: string, p: object): void } }).cvm.track('search', { query: 'cap' }));
    await collector.waitFor((rs) => of(aid)(rs).filter((r) => r.event.type === 'search').length >= 2, 'events after the pause');
    const searches = of(aid)(collector.records).filter((r) => r.event.type === 'search');
    expect(searches[0]!.event.session_id).not.toBe(first);
    expect(searches[1]!.event.session_id).toBe(searches[0]!.event.session_id);
    await ctx.close();
  });

  it('serves /cvm.js compressed, cacheable and revalidated by ETag', async () => {
    const res = await fetch(collector.url + '/cvm.js', { headers: { 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/javascript; charset=utf-8');
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(res.headers.get('cache-control')).toContain('max-age=');
    const etag = res.headers.get('etag')!;
    expect((await res.text()).length).toBeGreaterThan(1000);
    const again = await fetch(collector.url + '/cvm.js', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });
});
