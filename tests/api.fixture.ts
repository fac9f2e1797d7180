// A small shop for the API tests, sent through the real collector, transformer and model jobs: the demo
// history generator's customers plus a few hand-made ones whose every field the tests know.
import crypto from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { waitForDrain, type Runtime } from '../bin/runtime.ts';
import { demoCatalogue } from '../storefront/demo/catalogue.ts';
import { generateHistory } from '../storefront/demo/history.ts';
import type { KeyRole } from '../api/keys.ts';
import { ADMIN, FIXTURE_NOW, WRITE, testRuntime } from './helpers/runtime.ts';
import { daysAgo, event, purchase, signedBatch } from './helpers/events.ts';
import { identitySecrets } from '../ingest/identity.ts';

export { ADMIN, WRITE };

export const ALICE = {
  id: 'cust-alice',
  anon: 'anon-alice-1',
  email: 'alice.liddell@example.com',
  name: 'Alice Liddell',
  phone: '+49 170 5550123',
};

export function identify(customerId: string, anonymousId: string, traits: Record<string, unknown>, at: Date = new Date(FIXTURE_NOW)) {
  return { event_id: crypto.randomUUID(), type: 'identify', ts: at.toISOString(), customer_id: customerId, anonymous_id: anonymousId, traits };
}

/** Alice: an anonymous session, then identify, three orders (one refunded in full), in Germany. */
export function aliceEvents(now = FIXTURE_NOW) {
  const session = { session_id: 'sess-alice-1', context: { country: 'DE', url: 'https://shop.example/p/1' } };
  return [
    { ...event('page_view', { anonymous_id: ALICE.anon }, {}, daysAgo(30, now)), ...session },
    { ...event('product_view', { anonymous_id: ALICE.anon }, { product_id: 'p-1', category: 'Books', price: 20, currency: 'EUR' }, daysAgo(30, now)), ...session },
    identify(ALICE.id, ALICE.anon, { email: ALICE.email, name: ALICE.name, phone: ALICE.phone, country: 'DE', consent: true }, daysAgo(30, now)),
    { ...purchase(ALICE.id, daysAgo(29, now), 40, { currency: 'EUR', orderId: 'ord-alice-1', items: [{ product_id: 'p-1', quantity: 2, price: 20, category: 'Books' }] }), anonymous_id: ALICE.anon, session_id: 'sess-alice-1' },
    purchase(ALICE.id, daysAgo(10, now), 120, { currency: 'EUR', orderId: 'ord-alice-2', items: [{ product_id: 'p-2', quantity: 1, price: 120, category: 'Garden' }] }),
    purchase(ALICE.id, daysAgo(3, now), 60, { currency: 'EUR', orderId: 'ord-alice-3', items: [{ product_id: 'p-3', quantity: 3, price: 20, category: 'Books' }] }),
    event('refund', { customer_id: ALICE.id }, { order_id: 'ord-alice-2', amount: 120, currency: 'EUR' }, daysAgo(8, now)),
  ];
}

/** Posts with the demo site's write key, identifies signed as the shop's back end would (identity verification). */
export async function post(rt: Runtime, batch: unknown[]): Promise<void> {
  const signed = signedBatch(identitySecrets(rt.deps.config), rt.deps.config.keys.demoSite, batch);
  for (let i = 0; i < signed.length; i += 500) {
    const res = await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE }, payload: { batch: signed.slice(i, i + 500) } });
    expect(res.statusCode, res.body).toBe(200);
  }
}

export interface Shop {
  rt: Runtime & { dir: string };
  keys: Record<'storefront' | 'analyst' | 'admin', string>;
  as(role: 'storefront' | 'analyst' | 'admin' | 'none', opts: InjectOptions): Promise<LightMyRequestResponse>;
}

export async function newKey(rt: Runtime, role: KeyRole, extra: { site?: string; origins?: string[] } = {}): Promise<string> {
  return (await rt.deps.services.keys.create({ role, name: `test ${role}`, ...extra })).secret;
}

/** The runtime with the demo customers (seeded, so every run has the same shop) plus Alice, models run. */
export async function seededShop(opts: { customers?: number; env?: Record<string, string>; models?: boolean } = {}): Promise<Shop> {
  const rt = await testRuntime({ CVM_API_RATE_LIMIT_PER_MINUTE: '1000000', ...(opts.env ?? {}) });
  // The runtime's clock is stopped at FIXTURE_NOW too, so the seeded shop and its model answers never move.
  const now = FIXTURE_NOW;
  const history = generateHistory(demoCatalogue(), { customers: opts.customers ?? 60, days: 120, end: now - 60_000, seed: 7 }).map((h) => h.event);
  await post(rt, [...history, ...aliceEvents(now)]);
  expect(await waitForDrain(rt, 60_000)).toBe(true);
  if (opts.models !== false) {
    const runs = await rt.models.run('all');
    for (const r of runs) expect(r.status, `${r.model}: ${r.error ?? ''}`).toBe('ok');
  }
  const keys = { storefront: await newKey(rt, 'storefront'), analyst: await newKey(rt, 'analyst'), admin: await newKey(rt, 'admin') };
  return {
    rt,
    keys,
    as(role, o) {
      const headers = { ...(o.headers ?? {}), ...(role === 'none' ? {} : { authorization: `Bearer ${keys[role]}` }) };
      return rt.app!.inject({ ...o, headers });
    },
  };
}
