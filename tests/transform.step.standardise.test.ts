// The standardise step and the field rules it is made of: money, place, page. Pure: no engines.
import { describe, expect, it } from 'vitest';
import type { CollectedRecord } from '../ingest/contract.ts';
import { inBase, money } from '../transform/fields/money.ts';
import { place } from '../transform/fields/place.ts';
import { page } from '../transform/fields/url.ts';
import { FxTable } from '../transform/fx.ts';
import { standardiseStep, type StandardiseContext } from '../transform/steps/standardise.ts';
import { validate, type ValidEvent } from '../transform/steps/validate.ts';

const fx = FxTable.fromRows([
  { day: '2024-03-01', currency: 'EUR', base: 'USD', rate: 1.08 },
  { day: '2024-03-02', currency: 'EUR', base: 'USD', rate: 1.1 },
]);
const ctx: StandardiseContext = { fx, baseCurrency: 'USD' };
const TS = Date.parse('2024-03-01T10:00:00.000Z');
const RECEIVED = Date.parse('2024-03-02T12:00:00.000Z');

/** The step's input as the validate step hands it over. */
function valid(event: Record<string, unknown>, extra: Partial<CollectedRecord> = {}): ValidEvent {
  const e = { event_id: '3B241101-E2BB-4255-8CAF-4136C566A962', ts: '2024-03-01T10:00:00.000Z', anonymous_id: 'a1', ...event };
  const r = validate({ record: { v: 1, site: 'shop', received_at: RECEIVED, source: 'browser', event: e, ...extra }, at: { log_topic: 'events', log_partition: 2, log_offset: 41 } });
  if (r.kind !== 'ok') throw new Error(`fixture is not valid: ${r.kind} ${r.reason}`);
  return r.value;
}

describe('money', () => {
  it('keeps amount and currency, and gives the rate to the base on the event day', () => {
    expect(money('purchase', { total: 100, currency: 'eur' }, TS, ctx)).toEqual({ kind: 'ok', value: { price: 0, quantity: 0, amount: 100, currency: 'EUR', rate: 1.08 } });
    expect(money('add_to_cart', { price: 20, currency: 'USD' }, TS, ctx)).toEqual({ kind: 'ok', value: { price: 20, quantity: 1, amount: 20, currency: 'USD', rate: 1 } });
    expect(money('page_view', {}, TS, ctx)).toEqual({ kind: 'ok', value: { price: 0, quantity: 0, amount: 0, currency: '', rate: 1 } });
    expect(inBase(33.333, 1.08)).toBe(35.99964);
  });

  it('dead-letters money without a currency, or in one without a rate', () => {
    expect(money('product_view', { price: 3 }, TS, ctx)).toEqual({ kind: 'dlq', field: 'properties.currency', reason: 'is required with an amount or price' });
    expect(money('refund', { amount: 5, currency: 'XAF' }, TS, ctx)).toEqual({ kind: 'dlq', field: 'properties.currency', reason: 'unknown currency XAF: no exchange rate to USD' });
  });
});

describe('place', () => {
  it('event country, then traits, then the customer known country, then the locale region', () => {
    const known = (id: string) => (id === 'c1' ? 'NL' : undefined);
    expect(place({ country: 'Germany', locale: 'en_US' }, { country: 'France' }, 'c1', known)).toEqual({ country: 'DE', locale: 'en-US' });
    expect(place({ locale: 'en_US' }, { country: 'France' }, 'c1', known)).toEqual({ country: 'FR', locale: 'en-US' });
    expect(place({ locale: 'en_US' }, {}, 'c1', known)).toEqual({ country: 'NL', locale: 'en-US' });
    expect(place({ locale: 'en_US' }, {}, 'c2', known)).toEqual({ country: 'US', locale: 'en-US' });
    expect(place({}, {}, '', undefined)).toEqual({ country: '', locale: '' });
  });
});

describe('page', () => {
  it('path and campaign from the URL, the campaign from context where the URL has none', () => {
    expect(page({ url: 'https://shop.example/sale?utm_source=news&utm_medium=email', utm_source: 'ignored', utm_campaign: 'spring', referrer: 'https://ref.example/' })).toEqual({
      url: 'https://shop.example/sale?utm_source=news&utm_medium=email', path: '/sale', referrer: 'https://ref.example/',
      utm_source: 'news', utm_medium: 'email', utm_campaign: 'spring', utm_term: '', utm_content: '',
    });
    expect(page({})).toMatchObject({ url: '', path: '', utm_source: '' });
  });
});

describe('standardise step', () => {
  const step = standardiseStep(ctx);

  it('builds the events row at the record position, and the order lines of a purchase', () => {
    const r = step(valid({ type: 'purchase', customer_id: ' C1 ', properties: { order_id: 'o1', total: 100, currency: 'EUR', items: [{ product_id: 'p1', quantity: 2, price: 50, category: 'Shoes / Boots' }] } }));
    if (r.kind !== 'ok') throw new Error(`expected ok, got ${r.kind}`);
    expect(r.value.row).toMatchObject({
      event_id: '3b241101-e2bb-4255-8caf-4136c566a962', type: 'purchase', ts: '2024-03-01 10:00:00.000', received_at: '2024-03-02 12:00:00.000', site: 'shop',
      customer_id: 'C1', anonymous_id: 'a1', order_id: 'o1', currency: 'EUR', amount: 100, amount_base: 108, log_topic: 'events', log_partition: 2, log_offset: 41,
    });
    expect(r.value.lines).toEqual([{ product_id: 'p1', category: 'Shoes > Boots', quantity: 2, price: 50, price_base: 54 }]);
    expect(r.value.time).toBe('2024-03-01 10:00:00.000');
  });

  it('device from the event context, else the request header', () => {
    const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
    const fromHeader = step(valid({ type: 'page_view' }, { user_agent: iphone }));
    expect(fromHeader.kind === 'ok' && fromHeader.value.row).toMatchObject({ device: 'mobile', os: 'iOS', is_bot: 0 });
    const bot = step(valid({ type: 'page_view', context: { user_agent: 'curl/8.4.0' } }, { user_agent: iphone }));
    expect(bot.kind === 'ok' && bot.value.row.is_bot).toBe(1);
  });

  it('each record keeps its own receive time (the step remembers only the last one formatted)', () => {
    const a = step(valid({ type: 'page_view' }));
    const b = step(valid({ type: 'page_view' }, { received_at: RECEIVED + 1 }));
    expect([a.kind === 'ok' && a.value.row.received_at, b.kind === 'ok' && b.value.row.received_at]).toEqual(['2024-03-02 12:00:00.000', '2024-03-02 12:00:00.001']);
  });

  it('passes the money dead letter on', () => {
    expect(step(valid({ type: 'refund', properties: { order_id: 'o1', amount: 5, currency: 'XAF' } }))).toMatchObject({ kind: 'dlq', field: 'properties.currency' });
  });
});
