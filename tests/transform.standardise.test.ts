// Every standardisation rule with a concrete input and the exact output. Pure: no engines.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FxTable } from '../transform/fx.ts';
import { standardise, normaliseCategory, splitUrl, correctedTime, normaliseId, timeMs, TEXT_CAP, type StandardiseContext } from '../transform/standardise.ts';
import type { CollectedRecord } from '../ingest/contract.ts';

const RECEIVED = Date.parse('2024-03-02T12:00:00.000Z');
const fx = FxTable.fromRows([
  { day: '2024-03-01', currency: 'EUR', base: 'USD', rate: 1.08 },
  { day: '2024-03-02', currency: 'EUR', base: 'USD', rate: 1.1 },
  { day: '2024-03-01', currency: 'JPY', base: 'USD', rate: 0.0067 },
  { day: '2024-03-01', currency: 'GBP', base: 'USD', rate: 1.25 },
]);
const ctx: StandardiseContext = { fx, baseCurrency: 'USD' };
const ID = '3b241101-e2bb-4255-8caf-4136c566a962';

function rec(event: Record<string, unknown>, extra: Partial<CollectedRecord> = {}): CollectedRecord {
  return { v: 1, site: 'shop', received_at: RECEIVED, source: 'browser', event: { event_id: ID, type: 'page_view', ts: '2024-03-02T11:59:00.000Z', anonymous_id: 'a1', ...event }, ...extra };
}
function ok(r: ReturnType<typeof standardise>) {
  if (!r.ok) throw new Error(`expected ok, got reject ${r.problem.field}: ${r.problem.reason}`);
  return r;
}

describe('validation against the event contract', () => {
  it('rejects with the field and the reason, never throws', () => {
    const r = standardise(rec({ type: 'purchase', properties: { order_id: 'o1', total: 10, currency: 'USD', items: [] } }), ctx);
    expect(r).toMatchObject({ ok: false, eventId: ID, site: 'shop', problem: { field: 'properties.items' } });
    expect(standardise(rec({ event_id: 'not-a-uuid' }), ctx)).toMatchObject({ ok: false, problem: { field: 'event_id' } });
    expect(standardise(rec({ anonymous_id: undefined }), ctx)).toMatchObject({ ok: false, problem: { field: 'anonymous_id', reason: 'anonymous_id or customer_id is required' } });
    expect(standardise(rec({ surprise: 1 }), ctx)).toMatchObject({ ok: false, problem: { field: 'surprise' } });
  });

  it('keeps a collector reject as it was', () => {
    const r = standardise(rec({}, { reject: { field: 'ts', reason: 'is more than a day in the future' } }), ctx);
    expect(r).toEqual({ ok: false, problem: { field: 'ts', reason: 'is more than a day in the future' }, eventId: ID, site: 'shop', receivedAt: RECEIVED });
  });
});

describe('money', () => {
  it('converts with the rate of the event day, keeping the original amount and currency', () => {
    const day1 = ok(standardise(rec({ type: 'purchase', ts: '2024-03-01T10:00:00Z', properties: { order_id: 'o1', total: 100, currency: 'eur', items: [{ product_id: 'p1', quantity: 2, price: 50 }] } }), ctx));
    expect(day1.event).toMatchObject({ currency: 'EUR', amount: 100, amount_base: 108, order_id: 'o1' });
    expect(day1.items).toEqual([expect.objectContaining({ order_id: 'o1', product_id: 'p1', quantity: 2, price: 50, currency: 'EUR', price_base: 54 })]);
    const day2 = ok(standardise(rec({ type: 'purchase', ts: '2024-03-02T10:00:00Z', properties: { order_id: 'o2', total: 100, currency: 'EUR', items: [{ product_id: 'p1', quantity: 1, price: 100 }] } }), ctx));
    expect(day2.event.amount_base).toBe(110);
    const yen = ok(standardise(rec({ type: 'purchase', properties: { order_id: 'o3', total: 15000, currency: 'JPY', items: [{ product_id: 'p1', quantity: 1, price: 15000 }] } }), ctx));
    expect(yen.event.amount_base).toBe(100.5);
  });

  it('converts through USD when the base is another currency', () => {
    const gbpBase = ok(standardise(rec({ type: 'refund', properties: { order_id: 'o1', amount: 125, currency: 'USD' } }), { fx, baseCurrency: 'GBP' }));
    expect(gbpBase.event).toMatchObject({ type: 'refund', amount: 125, amount_base: 100 });
  });

  it('cart value is price × quantity; quantity defaults to 1', () => {
    const r = ok(standardise(rec({ type: 'add_to_cart', properties: { product_id: 'p9', price: 20, currency: 'USD' } }), ctx));
    expect(r.event).toMatchObject({ quantity: 1, price: 20, amount: 20, amount_base: 20 });
  });

  it('rejects an unknown currency, and money without a currency', () => {
    expect(standardise(rec({ type: 'purchase', properties: { order_id: 'o1', total: 5000, currency: 'XAF', items: [{ product_id: 'p1', quantity: 1, price: 5000 }] } }), ctx)).toMatchObject({
      ok: false,
      problem: { field: 'properties.currency', reason: 'unknown currency XAF: no exchange rate to USD' },
    });
    // The contract or the money rule, whichever speaks first: never a guessed currency.
    expect(standardise(rec({ type: 'product_view', properties: { product_id: 'p1', price: 3 } }), ctx)).toMatchObject({
      ok: false,
      problem: { field: 'properties.currency', reason: expect.stringMatching(/^is required with /) },
    });
    expect(standardise(rec({ type: 'custom_tip', properties: { price: 3 } }), ctx)).toMatchObject({
      ok: false,
      problem: { field: 'properties.currency', reason: expect.stringMatching(/^is required with /) },
    });
  });
});

describe('country and locale', () => {
  it('takes the event country, in any common spelling', () => {
    expect(ok(standardise(rec({ context: { country: 'Germany' } }), ctx)).event.country).toBe('DE');
    expect(ok(standardise(rec({ context: { country: 'uk' } }), ctx)).event.country).toBe('GB');
    expect(ok(standardise(rec({ context: { country: 'EIRE' } }), ctx)).event.country).toBe('IE');
    expect(ok(standardise(rec({ context: { country: 'JPN' } }), ctx)).event.country).toBe('JP');
  });

  it('falls back to the traits, then the customer known country, then the locale region', () => {
    expect(ok(standardise(rec({ type: 'identify', customer_id: 'c1', traits: { country: 'France' } }), ctx)).event.country).toBe('FR');
    const known: StandardiseContext = { ...ctx, customerCountry: (id) => (id === 'c1' ? 'NL' : undefined) };
    expect(ok(standardise(rec({ customer_id: 'c1', context: { locale: 'en_US' } }), known)).event).toMatchObject({ country: 'NL', locale: 'en-US' });
    expect(ok(standardise(rec({ customer_id: 'c2', context: { locale: 'pt_br' } }), known)).event).toMatchObject({ country: 'BR', locale: 'pt-BR' });
    expect(ok(standardise(rec({ context: { country: 'Atlantis', locale: 'de' } }), ctx)).event).toMatchObject({ country: '', locale: 'de' });
  });

  it('drops a locale that is not one', () => {
    expect(ok(standardise(rec({ context: { locale: 'zz-!!' } }), ctx)).event.locale).toBe('');
  });
});

describe('user agent', () => {
  const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
  const WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
  const IPAD = 'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';

  it('gives device type, browser and OS, from the event context or the request header', () => {
    expect(ok(standardise(rec({ context: { user_agent: IPHONE } }), ctx)).event).toMatchObject({ device: 'mobile', browser: 'Mobile Safari', os: 'iOS', is_bot: 0 });
    expect(ok(standardise(rec({}, { user_agent: WINDOWS }), ctx)).event).toMatchObject({ device: 'desktop', browser: 'Chrome', os: 'Windows', is_bot: 0 });
    expect(ok(standardise(rec({}, { user_agent: IPAD }), ctx)).event).toMatchObject({ device: 'tablet', os: 'iOS' });
    expect(ok(standardise(rec({}), ctx)).event).toMatchObject({ device: '', browser: '', os: '', is_bot: 0 });
  });

  it('flags bots, crawlers, headless browsers and HTTP tools', () => {
    for (const ua of ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36', 'curl/8.4.0', 'python-requests/2.31.0']) {
      expect(ok(standardise(rec({}, { user_agent: ua }), ctx)).event.is_bot, ua).toBe(1);
    }
  });
});

describe('URL, campaign, products and text', () => {
  it('splits the URL into path and utm_* parameters', () => {
    const r = ok(standardise(rec({ context: { url: 'https://shop.example/sale/shoes?utm_source=newsletter&utm_medium=email&utm_campaign=spring%20sale&x=1#top' } }), ctx));
    expect(r.event).toMatchObject({ path: '/sale/shoes', utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'spring sale', utm_term: '', utm_content: '' });
    expect(splitUrl('/cart?utm_term=boots')).toEqual({ path: '/cart', utm: { utm_source: '', utm_medium: '', utm_campaign: '', utm_term: 'boots', utm_content: '' } });
    expect(splitUrl('')).toEqual({ path: '', utm: { utm_source: '', utm_medium: '', utm_campaign: '', utm_term: '', utm_content: '' } });
  });

  it('takes the campaign from context when the URL has none', () => {
    const r = ok(standardise(rec({ context: { url: 'https://shop.example/', utm_source: 'google', utm_campaign: 'brand' } }), ctx));
    expect(r.event).toMatchObject({ path: '/', utm_source: 'google', utm_campaign: 'brand' });
  });

  it('trims ids and normalises categories', () => {
    const r = ok(standardise(rec({ type: 'product_view', properties: { product_id: '  SKU-12\t', category: ' Women /  Shoes|Boots ' } }), ctx));
    expect(r.event).toMatchObject({ product_id: 'SKU-12', category: 'Women > Shoes > Boots' });
    expect(normaliseCategory('Home>>Garden')).toBe('Home > Garden');
    expect(normaliseCategory(42)).toBe('');
    expect(normaliseId(' ab\u0000c ')).toBe('abc');
    const items = ok(standardise(rec({ type: 'purchase', properties: { order_id: ' o-7 ', total: 1, currency: 'USD', items: [{ product_id: ' p1 ', quantity: 1, price: 1, category: 'a / b' }] } }), ctx)).items;
    expect(items[0]).toMatchObject({ order_id: 'o-7', product_id: 'p1', category: 'a > b' });
  });

  it('normalises search queries and caps text fields', () => {
    const r = ok(standardise(rec({ type: 'search', properties: { query: '  Red   SHOES ', results: 0 } }), ctx));
    expect(r.event).toMatchObject({ search_query: 'red shoes', search_results: 0 });
    const long = 'x'.repeat(5000);
    const capped = ok(standardise(rec({ properties: { note: long } }, {}), ctx)).event;
    expect(capped.props.length).toBe(5000 + '{"note":""}'.length);
    const huge = ok(standardise(rec({ properties: { a: long, b: long, c: long, d: long } }), ctx)).event;
    expect(huge.props.length).toBe(16_384);
    const ref = ok(standardise(rec({ context: { referrer: 'https://r.example/' + 'y'.repeat(1500) } }), ctx)).event;
    expect(ref.referrer.length).toBeLessThanOrEqual(TEXT_CAP);
  });
});

describe('timestamps', () => {
  it('are UTC, shifted by the client clock skew (received_at − sent_at)', () => {
    // The client clock is 10 minutes fast: it said sent_at 12:10 when the server received it at 12:00.
    const r = ok(standardise(rec({ ts: '2024-03-02T12:05:00+00:00', sent_at: '2024-03-02T12:10:00Z' }), ctx));
    expect(r.event.ts).toBe('2024-03-02 11:55:00.000');
    expect(r.tsMs).toBe(Date.parse('2024-03-02T11:55:00Z'));
    // Offsets are turned into UTC.
    expect(ok(standardise(rec({ ts: '2024-03-02T13:30:00+02:00' }), ctx)).event.ts).toBe('2024-03-02 11:30:00.000');
    // Epoch milliseconds are accepted too.
    expect(ok(standardise(rec({ ts: Date.parse('2024-03-02T08:00:00Z') }), ctx)).event.ts).toBe('2024-03-02 08:00:00.000');
    expect(correctedTime({ ts: 1000, sent_at: 2000 }, 5000)).toBe(4000);
  });

  it('are never later than the server received the event', () => {
    const r = ok(standardise(rec({ ts: '2024-03-02T15:00:00Z' }), ctx));
    expect(r.event.ts).toBe('2024-03-02 12:00:00.000');
    expect(r.event.received_at).toBe('2024-03-02 12:00:00.000');
  });
});

describe('identify and alias', () => {
  it('link the anonymous id to the customer and keep the profile', () => {
    const r = ok(standardise(rec({ type: 'identify', customer_id: ' C1 ', traits: { email: 'a@b.example', country: 'Spain', signup_date: '2023-01-05T00:00:00Z', consent: false } }), ctx));
    expect(r.identity).toEqual({ anonymous_id: 'a1', customer_id: 'C1', site: 'shop', source: 'identify', first_seen: '2024-03-02 11:59:00.000', unverified: 0 });
    expect(r.customer).toMatchObject({ customer_id: 'C1', country: 'ES', consent: 0, first_seen: '2023-01-05 00:00:00.000' });
    const enc = ok(standardise(rec({ type: 'identify', customer_id: 'C1', traits: { email: 'a@b.example' } }), { ...ctx, protectTraits: (t) => ({ ...t, email: 'enc:xyz' }) }));
    expect(JSON.parse(enc.customer!.traits)).toEqual({ email: 'enc:xyz' });
  });
});

describe('the fast time parser agrees with the reference', () => {
  it('timeMs parses like Date.parse, fast for ISO UTC with milliseconds', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 253402300799999 }), (ms) => timeMs(new Date(ms).toISOString()) === ms), { numRuns: 20_000 });
    for (const s of ['2024-02-29T12:00:00.000Z', '2023-02-29T00:00:00.000Z', '2024-13-01T00:00:00.000Z', '2024-03-02T13:30:00+02:00', '2024-03-02T13:30:00Z', '2024-04-31T00:00:00.000Z']) {
      expect(Object.is(timeMs(s), Date.parse(s)), s).toBe(true);
    }
  });
});

