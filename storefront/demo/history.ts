// Months of a small cross-border shop's behaviour: visitors browse anonymously, sign up, buy at their own
// rate and drop out after some purchase (the BG/NBD story), return things now and then, and review.
// Output is contract-valid events, the same the snippet and the orders module send.
import { DEFAULT_RATES_USD } from '../../transform/fx-defaults.ts';
import type { DemoProduct } from './catalogue.ts';
import { Random } from './random.ts';

export interface Market { country: string; currency: string; locale: string; weight: number }

export const MARKETS: Market[] = [
  { country: 'US', currency: 'USD', locale: 'en-US', weight: 34 },
  { country: 'GB', currency: 'GBP', locale: 'en-GB', weight: 15 },
  { country: 'DE', currency: 'EUR', locale: 'de-DE', weight: 12 },
  { country: 'FR', currency: 'EUR', locale: 'fr-FR', weight: 8 },
  { country: 'CN', currency: 'CNY', locale: 'zh-CN', weight: 10 },
  { country: 'JP', currency: 'JPY', locale: 'ja-JP', weight: 8 },
  { country: 'AU', currency: 'AUD', locale: 'en-AU', weight: 7 },
  { country: 'CA', currency: 'CAD', locale: 'en-CA', weight: 6 },
];

export const USER_AGENTS: Array<[string, number]> = [
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36', 30],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15', 15],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1', 25],
  ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36', 20],
  ['Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1', 6],
  ['Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0', 4],
];

export const FIRST = ['Alex', 'Sam', 'Mia', 'Leo', 'Emma', 'Noah', 'Yuki', 'Wei', 'Lena', 'Hugo', 'Chloe', 'Jack', 'Li', 'Sofia', 'Ben', 'Aiko'];
export const LAST = ['Smith', 'Müller', 'Martin', 'Wang', 'Tanaka', 'Brown', 'Dubois', 'Chen', 'Taylor', 'Schmidt', 'Lee', 'Wilson'];
export const ZERO_RESULT_QUERIES = ['gift card', 'unicorn lamp', 'drone', 'kimono', 'laptop bag xl', 'vegan leather boots'];

export interface DemoEvent {
  event: Record<string, unknown>;
  receivedAt: number;
  userAgent: string;
  source: 'browser' | 'server';
}

export interface HistoryOptions {
  customers: number;
  days: number;
  end: number;
  seed?: number;
}

function localPrice(usd: number, currency: string): number {
  const rate = DEFAULT_RATES_USD[currency] ?? 1;
  const v = usd / rate;
  return currency === 'JPY' || currency === 'KRW' ? Math.round(v) : Math.round(v * 100) / 100;
}

export function generateHistory(catalogue: DemoProduct[], opts: HistoryOptions): DemoEvent[] {
  const rnd = new Random(opts.seed ?? 42);
  const start = opts.end - opts.days * 86_400_000;
  const out: DemoEvent[] = [];
  const available = catalogue.filter((p) => p.listed === 1);
  const byCategory = new Map<string, DemoProduct[]>();
  for (const p of available) byCategory.set(p.category, [...(byCategory.get(p.category) ?? []), p]);
  const categories = [...byCategory.keys()];
  const site = 'https://demo-shop.example';

  const visitor = (customerId: string | null) => {
    const market = rnd.weighted(MARKETS, MARKETS.map((m) => m.weight));
    return {
      anonymousId: `a_${rnd.uuid()}`,
      customerId,
      market,
      ua: rnd.weighted(USER_AGENTS.map((u) => u[0]), USER_AGENTS.map((u) => u[1])),
      favourites: [rnd.pick(categories), rnd.pick(categories)],
    };
  };
  type Visitor = ReturnType<typeof visitor>;

  const emit = (v: Visitor, t: number, type: string, properties: Record<string, unknown>, extra: Record<string, unknown> = {}, sessionId?: string, path = '/') => {
    if (t > opts.end) return;
    out.push({
      event: {
        event_id: rnd.uuid(),
        type,
        ts: new Date(t).toISOString(),
        anonymous_id: v.anonymousId,
        ...(v.customerId && !extra.noCustomer ? { customer_id: v.customerId } : {}),
        ...(sessionId ? { session_id: sessionId } : {}),
        context: { url: `${site}${path}`, locale: v.market.locale, country: v.market.country },
        properties,
        ...(extra.traits ? { traits: extra.traits } : {}),
      },
      receivedAt: t + 150,
      userAgent: v.ua,
      source: type === 'purchase' || type === 'refund' ? 'server' : 'browser',
    });
  };

  /** A browsing session; returns the products put in the cart and the session's end time. */
  const browse = (v: Visitor, t0: number, wantsToBuy: boolean): { t: number; cart: DemoProduct[]; sessionId: string } => {
    const sid = `s_${rnd.uuid()}`;
    let t = t0;
    const step = () => (t += rnd.int(8, 120) * 1000);
    emit(v, t, 'page_view', {}, {}, sid, '/');
    if (rnd.chance(0.3)) {
      step();
      const zero = rnd.chance(0.15);
      const query = zero ? rnd.pick(ZERO_RESULT_QUERIES) : rnd.pick(available).title.split(' ')[0]!.toLowerCase();
      emit(v, t, 'search', { query, results: zero ? 0 : rnd.int(1, 24) }, {}, sid, `/search?q=${encodeURIComponent(query)}`);
    }
    const cart: DemoProduct[] = [];
    const views = rnd.int(1, 6);
    for (let i = 0; i < views; i++) {
      step();
      const cat = rnd.chance(0.75) ? rnd.pick(v.favourites) : rnd.pick(categories);
      const p = rnd.pick(byCategory.get(cat)!);
      emit(v, t, 'product_view', { product_id: p.product_id, category: p.category, price: localPrice(p.price, v.market.currency), currency: v.market.currency }, {}, sid, `/products/${p.product_id}`);
      if ((wantsToBuy && (cart.length === 0 || rnd.chance(0.35))) || (!wantsToBuy && rnd.chance(0.12))) {
        step();
        cart.push(p);
        emit(v, t, 'add_to_cart', { product_id: p.product_id, category: p.category, quantity: 1, price: localPrice(p.price, v.market.currency), currency: v.market.currency }, {}, sid, `/products/${p.product_id}`);
      }
    }
    if (cart.length && rnd.chance(wantsToBuy ? 1 : 0.3)) {
      step();
      emit(v, t, 'checkout_started', { value: cart.reduce((s, p) => s + localPrice(p.price, v.market.currency), 0), currency: v.market.currency }, {}, sid, '/checkout');
    }
    return { t, cart, sessionId: sid };
  };

  // Each customer's own spending level (Gamma-Gamma's latent mean spend): some buy one of a thing, others
  // several. Drawn from a separate stream, so the rest of the history is the same for a given seed.
  const spendRnd = new Random((opts.seed ?? 42) + 7919);
  const spendLevel = new Map<string, number>();
  const purchase = (v: Visitor, t: number, cart: DemoProduct[], sid: string) => {
    let level = spendLevel.get(v.customerId ?? '');
    if (level === undefined) spendLevel.set(v.customerId ?? '', (level = spendRnd.gamma(1.5, 1)));
    const items = cart.map((p) => ({ product_id: p.product_id, quantity: Math.max(1, Math.round(level * (rnd.chance(0.15) ? 2 : 1))), price: localPrice(p.price, v.market.currency), category: p.category }));
    const total = Math.round(items.reduce((s, i) => s + i.quantity * i.price, 0) * 100) / 100;
    const orderId = `O${rnd.uuid().slice(0, 8).toUpperCase()}`;
    emit(v, t + 2000, 'purchase', { order_id: orderId, items, total, currency: v.market.currency }, {}, sid, '/checkout/done');
    if (rnd.chance(0.04)) emit(v, t + rnd.int(2, 20) * 86_400_000, 'refund', { order_id: orderId, amount: total, currency: v.market.currency, reason: 'returned' });
    if (rnd.chance(0.15)) {
      const it = rnd.pick(items);
      emit(v, t + rnd.int(3, 25) * 86_400_000, 'review', { product_id: it.product_id, rating: rnd.weighted([1, 2, 3, 4, 5], [4, 5, 12, 35, 44]), text: 'Demo review' });
    }
  };

  for (let c = 0; c < opts.customers; c++) {
    const customerId = `C${String(c + 1).padStart(5, '0')}`;
    const v = visitor(customerId);
    const rate = rnd.gamma(0.9, 1 / 30); // purchases per day, mean ~0.03
    const dropout = rnd.beta(1.2, 3.5); // chance to drop out after each purchase
    let t = start + rnd.next() * opts.days * 0.85 * 86_400_000;
    // An anonymous first visit, then sign-up (identify) and usually a first purchase.
    v.customerId = null;
    const first = browse(v, t, false);
    t = first.t + rnd.int(1, 30) * 60_000;
    v.customerId = customerId;
    const name = `${rnd.pick(FIRST)} ${rnd.pick(LAST)}`;
    emit(v, t, 'identify', {}, { traits: { email: `${customerId.toLowerCase()}@example.com`, name, country: v.market.country, signup_date: new Date(t).toISOString() } }, first.sessionId, '/account');
    let alive = true;
    let nextPurchase = rnd.chance(0.75) ? t + 60_000 : t + rnd.exp(rate) * 86_400_000;
    while (nextPurchase < opts.end) {
      // Window-shopping sessions between purchases.
      let browseAt = t + rnd.exp(rate * 1.5) * 86_400_000;
      while (browseAt < nextPurchase && browseAt < opts.end) {
        browse(v, browseAt, false);
        browseAt += rnd.exp(rate * 1.5) * 86_400_000;
      }
      if (!alive) break;
      const s = browse(v, nextPurchase, true);
      purchase(v, s.t, s.cart, s.sessionId);
      t = s.t;
      if (rnd.chance(dropout)) {
        alive = false;
        nextPurchase = t + rnd.int(10, 60) * 86_400_000; // one last look around, no purchase
        continue;
      }
      nextPurchase = t + Math.max(0.5, rnd.exp(rate)) * 86_400_000;
    }
  }
  // Visitors who never sign up.
  for (let a = 0; a < Math.round(opts.customers * 1.2); a++) {
    const v = visitor(null);
    let t = start + rnd.next() * opts.days * 86_400_000;
    const sessions = rnd.int(1, 3);
    for (let s = 0; s < sessions && t < opts.end; s++) {
      t = browse(v, t, false).t + rnd.exp(0.2) * 86_400_000;
    }
  }
  out.sort((a, b) => a.receivedAt - b.receivedAt);
  return out;
}
