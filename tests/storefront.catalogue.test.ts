// The shop's catalogue: CSV parsing and `cvm import products`, category pages, search, product pages
// (escaping, stock, listing), prices in the visitor's currency and the two UI languages.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, tempDir, testRuntime } from './helpers/runtime.ts';
import type { Runtime } from '../bin/runtime.ts';
import { testConfig } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';
import { run as importProducts } from '../bin/commands/import-products.ts';
import { parseCsv } from '../lib/csv.ts';
import { parseProductsCsv } from '../storefront/products-csv.ts';
import { shopFor } from '../storefront/shop.ts';
import { langFromAcceptLanguage } from '../storefront/i18n.ts';
import { regionCurrency } from '../storefront/currency.ts';

const CSV = [
  '\ufeffSKU,Name,Description,Category,Tags,Price,Currency,Stock,Listed',
  'MUG-1,Stoneware Mug,"A mug, glazed ""by hand"".",Home/Kitchen,mug|stoneware,10.85,USD,12,yes',
  'EVIL-1,<img src=x onerror=alert(1)>,"<script>alert(""d"")</script>",Home > Kitchen,x,5,USD,3,1',
  'TEA-1,Jasmine Tea 茉莉花茶,"Line one',
  'line two",Food > Tea,tea|茶,8,EUR,40,true',
  'GONE-1,Retired Lamp,,Home > Decor,,30,USD,9,no',
  'BAD-1,No Price,,Home,,,USD,1,yes',
  'BAD-2,Weird Stock,,Home,,5,USD,-3,yes',
  ',No Id,,Home,,5,USD,1,yes',
  'MUG-1,Stoneware Mug,"A mug, glazed ""by hand"".",Home > Kitchen,mug|stoneware,10.85,USD,12,yes',
].join('\r\n');

describe('products CSV', () => {
  it('splits RFC 4180 records: quotes, doubled quotes, line breaks in fields, CRLF, BOM', () => {
    const recs = parseCsv(CSV);
    expect(recs[0]!.fields[0]).toBe('SKU');
    expect(recs[1]!.fields[2]).toBe('A mug, glazed "by hand".');
    expect(recs[3]).toMatchObject({ line: 4, fields: ['TEA-1', 'Jasmine Tea 茉莉花茶', 'Line one\r\nline two', 'Food > Tea', 'tea|茶', '8', 'EUR', '40', 'true'] });
    expect(recs[4]!.line).toBe(6);
  });

  it('maps loose headers, normalises categories and tags, and reports bad rows by line and field', () => {
    const { products, problems } = parseProductsCsv(CSV, 'USD');
    expect(products.map((p) => p.product_id)).toEqual(['MUG-1', 'EVIL-1', 'TEA-1', 'GONE-1']);
    expect(products[0]).toEqual({ product_id: 'MUG-1', title: 'Stoneware Mug', description: 'A mug, glazed "by hand".', category: 'Home > Kitchen', tags: ['mug', 'stoneware'], price: 10.85, currency: 'USD', stock: 12, listed: 1 });
    expect(products[2]).toMatchObject({ currency: 'EUR', tags: ['tea', '茶'], category: 'Food > Tea' });
    expect(products[3]!.listed).toBe(0);
    expect(problems).toEqual([
      { line: 7, field: 'price', reason: "'' is not a price" },
      { line: 8, field: 'stock', reason: "'-3' is not a whole number of items" },
      { line: 9, field: 'product_id', reason: 'is empty' },
      { line: 10, field: 'product_id', reason: "'MUG-1' appears again (first on line 2); the later row wins" },
    ]);
    expect(() => parseProductsCsv('name,price\nx,1', 'USD')).toThrow(/needs columns product_id/);
  });
});

describe('the shop catalogue', () => {
  let rt: Runtime & { dir: string };

  beforeAll(async () => {
    // `cvm import products` on a stopped store, then the shop serves what it wrote.
    const dir = tempDir();
    const file = path.join(dir, 'products.csv');
    fs.writeFileSync(file, CSV);
    const out: string[] = [];
    const config = testConfig({ CVM_DATA_DIR: dir, CVM_ADMIN_KEY: ADMIN });
    const code = await importProducts([file], { config, log: initLogging({ level: 'silent' }), out: (l) => out.push(l) });
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^imported 4 products from .*products\.csv/);
    expect(out.slice(1)).toEqual(["  line 7: price '' is not a price", "  line 8: stock '-3' is not a whole number of items", '  line 9: product_id is empty', "  line 10: product_id 'MUG-1' appears again (first on line 2); the later row wins"]);
    rt = await testRuntime({ CVM_DATA_DIR: dir });
  });
  afterAll(async () => {
    await rt?.close();
  });
  const get = (url: string, headers: Record<string, string> = {}) => rt.app!.inject({ url, headers });

  it('lists a category and its subcategories, without unlisted products', async () => {
    const home = await get('/shop/c/home');
    expect(home.statusCode).toBe(200);
    expect(home.body).toContain('href="/shop/p/MUG-1"');
    expect(home.body).toContain('href="/shop/c/home/kitchen"');
    expect(home.body).not.toContain('/shop/p/GONE-1');
    const kitchen = await get('/shop/c/home/kitchen');
    expect(kitchen.body).toContain('2 products');
    expect((await get('/shop/c/nowhere')).statusCode).toBe(404);
    const nav = await get('/shop');
    expect(nav.body).toContain('href="/shop/c/food"');
  });

  it('escapes everything a product carries, in every page', async () => {
    for (const url of ['/shop/p/EVIL-1', '/shop/c/home/kitchen', '/shop/search?q=onerror', '/shop/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E']) {
      const res = await get(url);
      expect(res.body, url).not.toContain('<img src=x');
      expect(res.body, url).not.toContain('<script>alert');
    }
    const page = await get('/shop/p/EVIL-1');
    expect(page.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page.body).toContain('&lt;script&gt;alert(&quot;d&quot;)&lt;/script&gt;');
  });

  it('serves product pages with what cvm.js records, and no cart button when the product cannot be sold', async () => {
    const res = await get('/shop/p/MUG-1');
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/<section class="product" data-cvm-product-id="MUG-1" data-cvm-title="Stoneware Mug" data-cvm-category="Home &gt; Kitchen" data-cvm-price="10.85" data-cvm-currency="USD">/);
    expect(res.body).toContain('data-cvm-add-to-cart');
    // The loader, allowed by the page's CSP nonce.
    const csp = String(res.headers['content-security-policy']);
    const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
    expect(res.body).toContain(`<script nonce="${nonce}" data-host="http://localhost:80" data-key="wk_test_site"`);
    expect(csp).toContain("frame-ancestors 'none'");
    const gone = await get('/shop/p/GONE-1');
    expect(gone.body).toContain('This product is not sold any more.');
    expect(gone.body).not.toContain('data-cvm-add-to-cart');
    expect((await get('/shop/p/NOPE')).statusCode).toBe(404);
  });

  it('searches titles, tags, categories and descriptions, every word, Chinese too', async () => {
    const hit = await get('/shop/search?q=stoneware+mug');
    expect(hit.body).toContain('data-shop-search-query="stoneware mug" data-shop-search-results="1"');
    expect(hit.body).toContain('/shop/p/MUG-1');
    expect((await get('/shop/search?q=kitchen')).body).toContain('data-shop-search-results="2"');
    expect((await get('/shop/search?q=jasm')).body).toContain('/shop/p/TEA-1'); // word prefix
    expect((await get('/shop/search?q=茉莉')).body).toContain('/shop/p/TEA-1');
    expect((await get('/shop/search?q=lamp')).body).toContain('data-shop-search-results="0"'); // unlisted
    expect((await get('/shop/search?q=mug+tea')).body).toContain('data-shop-search-results="0"');
  });

  it('shows prices in the visitor currency: ?currency=, then cookie, then Accept-Language region', async () => {
    // 10.85 USD at the bundled 1.085 USD/EUR is 10.00 EUR; the EUR tea at 8 EUR is 8.68 USD.
    const eur = await get('/shop/p/MUG-1?currency=EUR');
    expect(eur.body).toContain('data-cvm-price="10" data-cvm-currency="EUR"');
    expect(eur.body).toContain('€10.00');
    expect(eur.body).toContain('Prices shown in EUR, charged in USD.');
    expect(String(eur.headers['set-cookie'])).toContain('cvm_currency=EUR; Path=/shop');
    expect((await get('/shop/p/MUG-1', { cookie: 'cvm_currency=GBP' })).body).toContain('data-cvm-currency="GBP"');
    expect((await get('/shop/p/MUG-1', { 'accept-language': 'ja-JP,ja;q=0.9' })).body).toMatch(/data-cvm-price="1619" data-cvm-currency="JPY"/);
    expect((await get('/shop/p/TEA-1')).body).toContain('data-cvm-price="8.68" data-cvm-currency="USD"');
    expect((await get('/shop/p/MUG-1?currency=XXX')).body).toContain('data-cvm-currency="USD"'); // no rate: base currency
    const json = await get('/shop/api/products/TEA-1?currency=CNY');
    expect(json.json()).toMatchObject({ price: 8, currency: 'EUR', display_currency: 'CNY', display_price: Math.round((8 * 1.085 / 0.139) * 100) / 100 });
  });

  it('speaks English or Simplified Chinese: ?lang=, cookie, Accept-Language', async () => {
    const zh = await get('/shop?lang=zh-CN');
    expect(zh.body).toContain('<html lang="zh-CN">');
    expect(zh.body).toContain('cvm 示例商店');
    expect(String(zh.headers['set-cookie'])).toContain('cvm_lang=zh-CN; Path=/shop');
    expect((await get('/shop', { cookie: 'cvm_lang=zh-CN' })).body).toContain('购物车');
    const al = await get('/shop/c/home/kitchen', { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.8' });
    expect(al.body).toContain('家居 › 厨房');
    expect(al.body).not.toContain('data-cvm-product-id'); // listing cards are plain links: no product views
    expect(al.body).toContain('¥'); // CNY from the zh-CN region
    expect((await get('/shop', { 'accept-language': 'fr-FR,de;q=0.5' })).body).toContain('<html lang="en">');
    expect(langFromAcceptLanguage('en;q=0.5, zh-TW;q=0.9')).toBe('zh-CN');
    expect(regionCurrency('de-CH,de;q=0.9')).toBe('CHF');
  });

  it('imports over HTTP with the admin key while the shop runs', async () => {
    const csv = 'product_id,title,price,stock\nNEW-1,Brand New,4.5,7\n';
    expect((await rt.app!.inject({ method: 'POST', url: '/v1/shop/products/import', headers: { 'content-type': 'text/csv' }, payload: csv })).statusCode).toBe(401);
    const res = await rt.app!.inject({ method: 'POST', url: '/v1/shop/products/import', headers: { 'content-type': 'text/csv', authorization: `Bearer ${ADMIN}` }, payload: csv });
    expect(res.json()).toEqual({ imported: 1, problems: [] });
    expect((await get('/shop/api/products/NEW-1')).json()).toMatchObject({ title: 'Brand New', stock: 7, listed: true });
    const bad = await rt.app!.inject({ method: 'POST', url: '/v1/shop/products/import', headers: { 'content-type': 'text/csv', authorization: `Bearer ${ADMIN}` }, payload: 'product_id,title,price,currency\nX,Y,1,ZZZ\n' });
    expect(bad.json()).toMatchObject({ error: 'unknown_currency' });
    // Rows written by someone else (e.g. the demo loader) show up on the next refresh.
    const shop = await shopFor(rt.deps);
    await rt.deps.ch.insert('products', [{ product_id: 'SIDE-1', title: 'Side door', category: 'Home', price: 1, currency: 'USD', stock: 2, listed: 1 }]);
    expect(await shop.refreshCatalogue()).toBe(true);
    expect(shop.catalogue.get('SIDE-1')?.stock).toBe(2);
  });
});
