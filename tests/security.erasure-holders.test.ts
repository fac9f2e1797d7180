// Every service of the process is in the erasure plan (bin/services.ts), and every one that the plan calls
// a holder of customer data really holds the customer before DELETE /v1/customers/:id and nobody after:
// the shop (account, sessions, cart), the transformer (open visits, cached country), the score cache and
// the recommendation lists. A service added without a plan entry fails the type check; one whose data
// survives the erasure fails here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForDrain } from '../bin/runtime.ts';
import { ERASURE_PLAN } from '../bin/services.ts';
import { identify, post, seededShop, type Shop } from './api.fixture.ts';
import { daysAgo, event, purchase } from './helpers/events.ts';
import { FIXTURE_NOW } from './helpers/runtime.ts';
import type { ErasureSubject } from '../api/erasure.ts';
import { shopFor } from '../storefront/shop.ts';

let shop: Shop;
let subject: ErasureSubject;

const cookieOf = (res: { headers: Record<string, unknown> }) =>
  ([] as string[]).concat((res.headers['set-cookie'] as string[] | string | undefined) ?? []).map((c) => c.split(';')[0]!).join('; ');

beforeAll(async () => {
  shop = await seededShop({ customers: 30, models: false });
  const { rt } = shop;
  const home = await rt.app!.inject({ url: '/shop' });
  const aidCookie = cookieOf(home);
  const anon = /cvm_aid=([^;]+)/.exec(aidCookie)![1]!;
  const signup = await rt.app!.inject({ method: 'POST', url: '/shop/api/signup', headers: { cookie: aidCookie }, payload: { email: 'hold.me@example.com', name: 'Holda Holder', password: 'correct horse battery' } });
  expect(signup.statusCode, signup.body).toBe(201);
  const cookie = `${aidCookie}; ${cookieOf(signup)}`;
  const customerId = (await rt.app!.inject({ url: '/shop/api/me', headers: { cookie } })).json().customer_id as string;
  const product = 'LAMP';
  await (await shopFor(rt.deps)).importProducts([{ product_id: product, title: 'Lamp', description: '', category: 'Home', tags: [], price: 80, currency: 'USD', stock: 100, listed: 1 }]);
  // A cart left in memory (not checked out).
  expect((await rt.app!.inject({ method: 'POST', url: '/shop/api/cart/items', headers: { cookie }, payload: { product_id: product, quantity: 1 } })).statusCode).toBe(200);

  // Her history as the shop's back end reports it: a visit, a country, two orders.
  await post(rt, [
    { ...event('page_view', { anonymous_id: anon }, {}, daysAgo(1)), session_id: 'sess-holda', context: { country: 'FR' } },
    identify(customerId, anon, { name: 'Holda Holder', country: 'FR', consent: true }, daysAgo(1)),
    purchase(customerId, daysAgo(20), 35, { orderId: 'ord-holda-1', items: [{ product_id: product, quantity: 1, price: 35 }] }),
    purchase(customerId, daysAgo(2), 50, { orderId: 'ord-holda-2', items: [{ product_id: product, quantity: 2, price: 25 }] }),
    { ...event('product_view', { customer_id: customerId, anonymous_id: anon }, { product_id: product }, new Date(FIXTURE_NOW - 3600_000)), session_id: 'sess-holda' },
  ]);
  expect(await waitForDrain(rt, 60_000)).toBe(true);
  for (const r of await rt.models.run('all')) expect(r.status, `${r.model}: ${r.error ?? ''}`).toBe('ok');
  await rt.deps.services.recs.load(rt.deps.ch); // the store reloads on the run event; wait for it here
  subject = { customers: [customerId], anonymous: [anon], pseudonym: '' };
}, 240_000);

afterAll(async () => {
  await shop?.rt.close();
});

describe('the erasure plan', () => {
  it('names every service of the running process', () => {
    const services = Object.keys(shop.rt.deps.services).filter((k) => k !== 'erasure' && k !== 'startApi').sort();
    expect(services).toEqual(Object.keys(ERASURE_PLAN).sort());
  });

  it('erases every holder of customer data: each held the customer before, none does after', async () => {
    const steps = shop.rt.deps.services.erasure;
    expect(steps.map((s) => s.name).sort()).toEqual(['bulkTransformer', 'recs', 'scores', 'shop', 'transformer']);
    // The demo history goes through the bulk transformer; this customer's events came live.
    const holders = steps.filter((s) => s.name !== 'bulkTransformer');
    for (const s of holders) expect(await s.holder.holds(subject), `${s.name} before`).toBe(true);

    const res = await shop.as('admin', { method: 'DELETE', url: `/v1/customers/${subject.customers[0]}` });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ complete: true, errors: {} });
    expect(res.json().caches).toEqual(expect.arrayContaining(['shop', 'transformer', 'scores', 'recs']));

    for (const s of steps) expect(await s.holder.holds(subject), `${s.name} after`).toBe(false);
  });
});
