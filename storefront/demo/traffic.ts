// Simulated shoppers for a running cvm: each visitor fetches the shop's pages over HTTP, sends the
// events cvm.js would send from those pages to the collector (/v1/batch, snippet shapes), signs up,
// and orders through the real checkout and (simulated) payment. Shop staff ship, deliver and refund
// through the admin endpoints. Visitors return at their own rate and drift away after some purchase,
// as in the BG/NBD story; a few abandon carts, cancel or send goods back.
//
// Time is simulated: the visits of `days` days are replayed now, each request carrying its simulated
// time (X-CVM-Sim-Time, honoured only with the admin key) and each event its simulated ts, so models
// and dashboards see months of history after a run of seconds or minutes.
import { randomUUID } from 'node:crypto';
import { Random } from './random.ts';
import { FIRST, LAST, MARKETS, USER_AGENTS, ZERO_RESULT_QUERIES, type Market } from './history.ts';

export interface TrafficOptions {
  /** Base URL of the running cvm (shop and collector), e.g. http://127.0.0.1:3000 */
  url: string;
  adminKey: string;
  writeKey: string;
  visitors: number;
  days: number;
  /** End of the simulated period (default now). */
  end?: number;
  seed?: number;
  /** Visitors simulated at the same time. */
  concurrency?: number;
  onProgress?: (done: number, report: TrafficReport) => void;
}

export interface TrafficReport {
  visitors: number;
  sessions: number;
  pages: number;
  events: number;
  searches: number;
  signups: number;
  carts: number;
  orders: number;
  paid: number;
  abandoned: number;
  cancelled: number;
  shipped: number;
  delivered: number;
  refunded: number;
  outOfStock: number;
  restocked: number;
  requests: number;
  errors: number;
  retries: number;
  seconds: number;
}

const DAY = 86_400_000;
const SNIPPET = { name: 'cvm.js', version: '0.1.0' };
const CAMPAIGNS: Array<[Record<string, string>, number]> = [
  [{}, 60],
  [{ utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'brand' }, 12],
  [{ utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'weekly' }, 10],
  [{ utm_source: 'instagram', utm_medium: 'social', utm_campaign: 'spring' }, 10],
  [{ utm_source: 'affiliate', utm_medium: 'referral', utm_campaign: 'gift-guide' }, 8],
];

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#96;': '`' };
const unescape = (s: string) => s.replace(/&(amp|lt|gt|quot|#39|#96);/g, (m) => ENTITIES[m]!);
const attr = (tag: string, name: string): string | null => {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? unescape(m[1]!) : null;
};

export interface Shelf { listId: string; placement: string; products: string[] }

/** The recommendation shelves of a shop page (data-cvm-list-id containers). */
export function parseShelves(page: string): Shelf[] {
  const out: Shelf[] = [];
  const re = /<section class="shelf"[^>]*>/g;
  for (let m = re.exec(page); m; m = re.exec(page)) {
    const end = page.indexOf('</section>', m.index);
    const inner = page.slice(m.index, end < 0 ? undefined : end);
    const listId = attr(m[0], 'data-cvm-list-id');
    if (!listId) continue;
    out.push({ listId, placement: attr(m[0], 'data-cvm-placement') ?? '', products: [...inner.matchAll(/data-cvm-product-id="([^"]*)"/g)].map((x) => unescape(x[1]!)) });
  }
  return out;
}

/** The product section of a product page: what cvm.js reads from its data-cvm-* attributes. */
export function parseProduct(page: string): Record<string, unknown> | null {
  const m = /<section class="product"[^>]*>/.exec(page);
  if (!m) return null;
  const p: Record<string, unknown> = { product_id: attr(m[0], 'data-cvm-product-id') };
  const category = attr(m[0], 'data-cvm-category');
  const price = attr(m[0], 'data-cvm-price');
  const currency = attr(m[0], 'data-cvm-currency');
  const title = attr(m[0], 'data-cvm-title');
  if (category) p.category = category;
  if (price !== null) p.price = Number(price);
  if (currency) p.currency = currency;
  if (title) p.title = title;
  return p;
}

const links = (page: string, re: RegExp) => [...new Set([...page.matchAll(re)].map((m) => unescape(m[1]!)))];
const titleOf = (page: string) => unescape(/<title>([^<]*)<\/title>/.exec(page)?.[1] ?? '');

interface Response { status: number; body: string; location: string | null }

/** One visitor's browser: cookies, user agent, language; requests carry the simulated time. */
class VisitorBrowser {
  readonly cookies = new Map<string, string>();
  constructor(private readonly sim: Simulation, readonly ua: string, readonly market: Market) {}

  async request(method: string, path: string, at: number, body?: { form?: Record<string, string>; json?: unknown }, admin = false): Promise<Response> {
    const headers: Record<string, string> = {
      'user-agent': this.ua,
      'accept-language': `${this.market.locale},${this.market.locale.split('-')[0]};q=0.8,en;q=0.5`,
      'x-cvm-sim-time': String(Math.round(at)),
      authorization: `Bearer ${this.sim.opts.adminKey}`,
    };
    if (!admin && this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let payload: string | undefined;
    if (body?.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = this.sim.origin;
      payload = new URLSearchParams(body.form).toString();
    } else if (body?.json !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    }
    const res = await this.sim.fetch(this.sim.origin + path, { method, headers, body: payload, redirect: 'manual' });
    if (!admin) {
      for (const c of res.headers.getSetCookie()) {
        const [pair, ...attrs] = c.split(';');
        const i = pair!.indexOf('=');
        const name = pair!.slice(0, i).trim();
        const value = pair!.slice(i + 1).trim();
        if (attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '') this.cookies.delete(name);
        else this.cookies.set(name, value);
      }
    }
    const text = await res.text();
    return { status: res.status, body: text, location: res.headers.get('location') };
  }
}

interface Visitor {
  browser: VisitorBrowser;
  customerId: string | null;
  email: string;
  name: string;
  favourites: string[];
  utm: Record<string, string>;
  screen: { width: number; height: number };
}

class Simulation {
  readonly origin: string;
  readonly report: TrafficReport = { visitors: 0, sessions: 0, pages: 0, events: 0, searches: 0, signups: 0, carts: 0, orders: 0, paid: 0, abandoned: 0, cancelled: 0, shipped: 0, delivered: 0, refunded: 0, outOfStock: 0, restocked: 0, requests: 0, errors: 0, retries: 0, seconds: 0 };
  categories: string[] = [];
  productIds: string[] = [];
  searchWords: string[] = [];

  constructor(readonly opts: TrafficOptions) {
    this.origin = opts.url.replace(/\/+$/, '');
  }

  /** fetch with retries on network errors, 429 and 5xx (Retry-After honoured). */
  async fetch(url: string, init: RequestInit): Promise<globalThis.Response> {
    for (let attempt = 0; ; attempt++) {
      this.report.requests++;
      try {
        const res = await fetch(url, init);
        if ((res.status === 429 || res.status >= 500) && attempt < 8) {
          const wait = Number(res.headers.get('retry-after')) * 1000 || 200 * 2 ** attempt;
          await res.text().catch(() => '');
          this.report.retries++;
          await new Promise((r) => setTimeout(r, Math.min(wait, 30_000)));
          continue;
        }
        if (res.status >= 500) this.report.errors++;
        return res;
      } catch (err) {
        if (attempt >= 5) throw err;
        this.report.retries++;
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  }

  async sendEvents(events: Array<Record<string, unknown>>, v: Visitor): Promise<void> {
    for (let i = 0; i < events.length; i += 100) {
      const sent_at = new Date().toISOString();
      const batch = events.slice(i, i + 100).map((e) => ({ ...e, sent_at }));
      const res = await this.fetch(`${this.origin}/v1/batch`, {
        method: 'POST',
        // What cvm.js sends: text/plain (no CORS preflight), key in the body, from the shop's origin.
        headers: { 'content-type': 'text/plain', origin: this.origin, 'user-agent': v.browser.ua },
        body: JSON.stringify({ key: this.opts.writeKey, batch }),
      });
      const body = (await res.json().catch(() => null)) as { accepted?: number; rejected?: unknown[] } | null;
      if (!res.ok) this.report.errors++;
      this.report.events += body?.accepted ?? 0;
      if (body?.rejected?.length) this.report.errors += body.rejected.length;
    }
  }

  async loadCatalogue(): Promise<void> {
    const res = await this.fetch(`${this.origin}/shop/api/products?limit=500`, { headers: { 'x-cvm-sim-time': String(Date.now()) } });
    if (!res.ok) throw new Error(`the shop at ${this.origin} answered ${res.status} to /shop/api/products; is cvm running there?`);
    const body = (await res.json()) as { products: Array<{ product_id: string; title: string; category: string }>; categories: Array<{ slug: string }> };
    if (!body.products.length) throw new Error(`the shop at ${this.origin} has no products; import a catalogue first (cvm import products FILE)`);
    this.productIds = body.products.map((p) => p.product_id);
    this.categories = body.categories.map((c) => c.slug);
    this.searchWords = [...new Set(body.products.flatMap((p) => p.title.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 3)))];
  }

  /** Shop staff put a product back in stock (through the catalogue import). */
  async restock(productId: string, rnd: Random): Promise<void> {
    const res = await this.fetch(`${this.origin}/shop/api/products/${encodeURIComponent(productId)}?currency=USD`, {});
    if (!res.ok) return;
    const p = (await res.json()) as { product_id: string; title: string; description: string; category: string; tags: string[]; price: number; currency: string; listed: boolean };
    const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
    const csv = `product_id,title,description,category,tags,price,currency,stock,listed\n${[q(p.product_id), q(p.title), q(p.description), q(p.category), q(p.tags.join('|')), p.price, p.currency, rnd.int(20, 120), p.listed ? 1 : 0].join(',')}\n`;
    const r = await this.fetch(`${this.origin}/v1/shop/products/import`, { method: 'POST', headers: { authorization: `Bearer ${this.opts.adminKey}`, 'content-type': 'text/csv' }, body: csv });
    await r.text();
    if (r.ok) this.report.restocked++;
  }
}

export async function simulateTraffic(opts: TrafficOptions): Promise<TrafficReport> {
  const t0 = Date.now();
  const sim = new Simulation(opts);
  await sim.loadCatalogue();
  const end = opts.end ?? Date.now();
  const start = end - opts.days * DAY;
  const master = new Random(opts.seed ?? 1234);
  const seeds = Array.from({ length: opts.visitors }, () => master.int(1, 2 ** 31));
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < seeds.length) {
      const i = next++;
      await visitorLife(sim, new Random(seeds[i]!), i, start, end);
      done++;
      sim.report.visitors = done;
      opts.onProgress?.(done, sim.report);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 8) }, worker));
  sim.report.seconds = (Date.now() - t0) / 1000;
  return sim.report;
}

async function visitorLife(sim: Simulation, rnd: Random, index: number, start: number, end: number): Promise<void> {
  const market = rnd.weighted(MARKETS, MARKETS.map((m) => m.weight));
  const ua = rnd.weighted(USER_AGENTS.map((u) => u[0]), USER_AGENTS.map((u) => u[1]));
  const mobile = /Mobile|iPhone|Android/.test(ua);
  const first = rnd.pick(FIRST);
  const v: Visitor = {
    browser: new VisitorBrowser(sim, ua, market),
    customerId: null,
    email: `${first.toLowerCase()}.${randomUUID().slice(0, 8)}.${index}@example.com`,
    name: `${first} ${rnd.pick(LAST)}`,
    favourites: [rnd.pick(sim.categories), rnd.pick(sim.categories)],
    utm: rnd.weighted(CAMPAIGNS.map((c) => c[0]), CAMPAIGNS.map((c) => c[1])),
    screen: mobile ? { width: 390, height: 844 } : { width: 1440, height: 900 },
  };
  const buyer = rnd.chance(0.45);
  const rate = rnd.gamma(0.9, 1 / 20); // purchases per day while alive
  const dropout = rnd.beta(1.2, 3.5); // chance to drift away after each purchase
  let t = start + rnd.next() * (end - start) * 0.9;
  let alive = true;
  let nextPurchase = buyer ? t + (rnd.chance(0.5) ? 0 : rnd.exp(rate) * DAY) : Infinity;
  let sessions = 0;
  let lastLook = false;
  while (t < end && sessions < 40) {
    const wantsToBuy = alive && buyer && t >= nextPurchase;
    const bought = await session(sim, rnd, v, t, wantsToBuy, sessions === 0, end);
    sessions++;
    if (bought) {
      if (rnd.chance(dropout)) {
        alive = false; // one last look around later, no more purchases
        lastLook = true;
      } else nextPurchase = t + Math.max(0.5, rnd.exp(rate)) * DAY;
    }
    if (!buyer && sessions >= rnd.int(1, 3)) break;
    if (!alive && !lastLook) break;
    if (!alive) lastLook = false;
    t += (buyer ? Math.max(0.2, rnd.exp(rate * 1.5)) : rnd.exp(0.15)) * DAY;
  }
}

/** One visit. Returns whether an order was paid. */
async function session(sim: Simulation, rnd: Random, v: Visitor, t0: number, wantsToBuy: boolean, firstVisit: boolean, end: number): Promise<boolean> {
  sim.report.sessions++;
  const sessionId = randomUUID();
  const events: Array<Record<string, unknown>> = [];
  let t = t0;
  let referrer = firstVisit && v.utm.utm_source ? `https://${v.utm.utm_source}.example/` : '';
  const step = (lo = 6, hi = 90) => (t += rnd.int(lo, hi) * 1000);
  const b = v.browser;

  const make = (type: string, properties: Record<string, unknown>, url: string, title: string) => {
    const anonymousId = b.cookies.get('cvm_aid');
    events.push({
      event_id: randomUUID(),
      type,
      ts: new Date(t).toISOString(),
      ...(anonymousId ? { anonymous_id: anonymousId } : {}),
      ...(v.customerId ? { customer_id: v.customerId } : {}),
      session_id: sessionId,
      context: {
        url, title, locale: v.browser.market.locale, user_agent: b.ua, screen: v.screen, library: SNIPPET,
        ...(referrer ? { referrer } : {}),
        ...(firstVisit ? v.utm : {}),
      },
      properties,
    });
  };

  /** A page load: the request, then what cvm.js records on it (page view, product view, shelves seen). */
  const view = async (path: string): Promise<string | null> => {
    if (t > end) return null;
    const res = await b.request('GET', path, t);
    if (res.status !== 200) return null;
    sim.report.pages++;
    const url = sim.origin + path + (firstVisit && path === '/shop' && v.utm.utm_source ? `?${new URLSearchParams(v.utm)}` : '');
    const title = titleOf(res.body);
    make('page_view', { path: path.split('?')[0] }, url, title);
    const product = parseProduct(res.body);
    if (product?.product_id) make('product_view', product, url, title);
    for (const s of parseShelves(res.body)) if (s.products.length && rnd.chance(0.8)) make('rec_impression', { list_id: s.listId, product_ids: s.products, placement: s.placement }, url, title);
    referrer = url;
    return res.body;
  };

  let page = await view('/shop');
  if (!page) return false;
  // A shelf click now and then: the shop's recommendations at work.
  const clickShelf = async (html: string): Promise<string | null> => {
    const shelves = parseShelves(html).filter((s) => s.products.length);
    if (!shelves.length) return null;
    const s = rnd.pick(shelves);
    const id = rnd.pick(s.products);
    make('rec_click', { list_id: s.listId, product_id: id, placement: s.placement }, referrer, '');
    step();
    return view(`/shop/p/${encodeURIComponent(id)}`);
  };

  if (rnd.chance(0.3)) {
    step();
    const zero = rnd.chance(0.12);
    const q = zero ? rnd.pick(ZERO_RESULT_QUERIES) : rnd.pick(sim.searchWords);
    const res = await view(`/shop/search?q=${encodeURIComponent(q)}`);
    if (res) {
      const results = Number(/data-shop-search-results="(\d+)"/.exec(res)?.[1] ?? 0);
      make('search', { query: q, results }, referrer, titleOf(res));
      sim.report.searches++;
      const hits = links(res, /href="\/shop\/p\/([^"]+)"/g);
      if (hits.length) {
        step();
        page = (await view(`/shop/p/${encodeURIComponent(decodeURIComponent(rnd.pick(hits)))}`)) ?? page;
      }
    }
  }

  const cart: string[] = [];
  const views = rnd.int(1, wantsToBuy ? 5 : 4);
  for (let i = 0; i < views && t < end; i++) {
    step();
    let html: string | null = null;
    if (i > 0 && page && rnd.chance(0.3)) html = await clickShelf(page);
    if (!html) {
      const slug = rnd.chance(0.75) ? rnd.pick(v.favourites) : rnd.pick(sim.categories);
      const listing = await view(`/shop/c/${slug.split('/').map(encodeURIComponent).join('/')}`);
      const ids = listing ? links(listing, /href="\/shop\/p\/([^"]+)"/g) : [];
      if (!ids.length) continue;
      step();
      html = await view(`/shop/p/${encodeURIComponent(decodeURIComponent(rnd.pick(ids)))}`);
    }
    if (!html) continue;
    page = html;
    const product = parseProduct(html);
    const canAdd = /id="add-to-cart"/.test(html);
    if (product && canAdd && ((wantsToBuy && (cart.length === 0 || rnd.chance(0.35))) || (!wantsToBuy && rnd.chance(0.1)))) {
      step(3, 20);
      const quantity = rnd.chance(0.12) ? 2 : 1;
      make('add_to_cart', { ...product, quantity }, referrer, titleOf(html));
      const res = await b.request('POST', '/shop/cart/add', t, { form: { product_id: String(product.product_id), quantity: String(quantity) } });
      if (res.status === 303) cart.push(String(product.product_id));
    }
  }
  if (cart.length) sim.report.carts++;

  let paid = false;
  if (cart.length && t < end && (wantsToBuy || rnd.chance(0.15))) {
    step();
    await view('/shop/cart');
    if (!v.customerId) {
      step(20, 120);
      const res = await b.request('POST', '/shop/signup', t, { form: { name: v.name, email: v.email, password: `pw-${v.email}`, next: '/shop/checkout' } });
      if (res.status === 303) {
        const me = await b.request('GET', '/shop/api/me', t);
        v.customerId = (JSON.parse(me.body) as { customer_id?: string }).customer_id ?? null;
        if (v.customerId) {
          make('identify', {}, referrer, '');
          (events[events.length - 1] as Record<string, unknown>).traits = { email: v.email, name: v.name };
          sim.report.signups++;
        }
      }
    }
    step();
    const checkoutPage = await view('/shop/checkout');
    const value = checkoutPage ? /data-shop-checkout-value="([^"]*)"/.exec(checkoutPage) : null;
    if (checkoutPage && value) make('checkout_started', { value: Number(value[1]), currency: /data-shop-checkout-currency="([^"]*)"/.exec(checkoutPage)?.[1] ?? 'USD' }, referrer, titleOf(checkoutPage));
    step(10, 60);
    const placed = await b.request('POST', '/shop/checkout', t, { form: { currency: '' } });
    const orderId = placed.location ? /\/shop\/orders\/([^/?]+)/.exec(placed.location)?.[1] : undefined;
    if (placed.status === 409) {
      sim.report.outOfStock++;
      const id = /data-line="([^"]+)"/.exec(placed.body)?.[1] ?? cart[0]!;
      for (const c of cart) await b.request('POST', '/shop/cart/update', t, { form: { product_id: c, quantity: '0', remove: '1' } });
      if (rnd.chance(0.7)) await sim.restock(id, rnd);
    } else if (orderId) {
      sim.report.orders++;
      if (rnd.chance(0.92)) {
        step(15, 90);
        const pay = await b.request('POST', `/shop/orders/${orderId}/pay`, t, { form: {} });
        if (pay.status === 303) {
          paid = true;
          sim.report.paid++;
          await view(`/shop/orders/${orderId}`);
          await afterPurchase(sim, rnd, v, orderId, t, end);
        }
      } else if (rnd.chance(0.4)) {
        step();
        const res = await b.request('POST', `/shop/orders/${orderId}/cancel`, t, { form: {} });
        if (res.status === 303) sim.report.cancelled++;
      } else sim.report.abandoned++; // left unpaid: the shop cancels it and releases the stock later
    }
  }
  await sim.sendEvents(events, v);
  return paid;
}

/** What happens to a paid order: a change of mind, shipping and delivery by the shop, a return. */
async function afterPurchase(sim: Simulation, rnd: Random, v: Visitor, orderId: string, paidAt: number, end: number): Promise<void> {
  const b = v.browser;
  if (rnd.chance(0.03)) {
    const res = await b.request('POST', `/shop/orders/${orderId}/cancel`, paidAt + rnd.int(5, 120) * 60_000, { form: {} });
    if (res.status === 303) sim.report.cancelled++;
    return;
  }
  const staff = async (action: string, at: number, reason = '') => {
    if (at > end) return false;
    const res = await b.request('POST', `/v1/shop/orders/${orderId}/${action}`, at, { json: { reason } }, true);
    return res.status === 200;
  };
  const shippedAt = paidAt + rnd.int(12, 48) * 3_600_000;
  if (!(await staff('ship', shippedAt))) return;
  sim.report.shipped++;
  const deliveredAt = shippedAt + rnd.int(2, 6) * DAY;
  if (!(await staff('deliver', deliveredAt))) return;
  sim.report.delivered++;
  if (rnd.chance(0.05) && (await staff('refund', deliveredAt + rnd.int(2, 14) * DAY, 'returned'))) sim.report.refunded++;
}
