// The customer 360 after `cvm customers merge gone keep` and after its undo: orders, activity, sessions,
// identities and RFM all read the one identity resolution (events_resolved, sessions), so they agree.
// gone browses anonymously, identifies, buys (part refunded) in its session; keep buys once.
// Also: what the 360 reports instead of swallowing an error (a failing recommendation service, bad JSON).
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN, FIXTURE_NOW, testRuntime } from './helpers/runtime.ts';
import { daysAgo, event, purchase } from './helpers/events.ts';
import { identify, newKey, post } from './api.fixture.ts';
import { waitForDrain, type Runtime } from '../bin/runtime.ts';
import { shapeProfile } from '../api/customer-360.ts';
import { PiiCipher } from '../lib/crypto.ts';
import { initLogging } from '../lib/logger.ts';
import { RecsStore } from '../models/recs/store.ts';

let rt: Runtime & { dir: string };
const auth = { authorization: `Bearer ${ADMIN}` };
const now = FIXTURE_NOW;

interface Order { order_id: string; total_base: number; refunded_base: number }
interface View {
  customer_id: string;
  merged_into: string | null;
  identities: Array<{ anonymous_id: string }>;
  activity: { events: number } | null;
  orders: Order[];
  sessions: Array<{ session_id: string; orders: number }>;
  rfm: { frequency: number; monetary: number } | null;
}

async function view(id: string): Promise<View> {
  const res = await rt.app!.inject({ method: 'GET', url: `/v1/customers/${id}`, headers: auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as View;
}

async function merge(from: string, into: string): Promise<string> {
  const res = await rt.app!.inject({ method: 'POST', url: '/v1/admin/customers/merge', headers: auth, payload: { from, into } });
  expect(res.statusCode, res.body).toBe(201);
  await rt.models.run('rfm');
  return (res.json() as { merge: { merge_id: string } }).merge.merge_id;
}

async function undo(mergeId: string): Promise<void> {
  const res = await rt.app!.inject({ method: 'POST', url: `/v1/admin/customers/merge/${mergeId}/undo`, headers: auth });
  expect(res.statusCode, res.body).toBe(200);
  await rt.models.run('rfm');
}

const ids = (xs: Array<{ order_id: string } | { session_id: string } | { anonymous_id: string }>) =>
  xs.map((x) => ('order_id' in x ? x.order_id : 'session_id' in x ? x.session_id : x.anonymous_id)).sort();

/** RFM counts what the 360 lists: one purchase per order, monetary net of refunds (all in USD here). */
function expectRfmAgrees(v: View): void {
  expect(v.rfm).not.toBeNull();
  expect(v.rfm!.frequency).toBe(v.orders.length);
  expect(v.rfm!.monetary).toBeCloseTo(v.orders.reduce((n, o) => n + o.total_base - o.refunded_base, 0), 6);
  expect(v.sessions.reduce((n, s) => n + Number(s.orders), 0)).toBe(v.orders.length);
}

beforeAll(async () => {
  rt = await testRuntime({ CVM_API_RATE_LIMIT_PER_MINUTE: '1000000' });
  const goneSession = { session_id: 'sess-gone-1', anonymous_id: 'anon-gone' };
  await post(rt, [
    { ...event('page_view', { anonymous_id: 'anon-gone' }, {}, daysAgo(20, now)), ...goneSession, context: { url: 'https://shop.example/p/9' } },
    identify('gone', 'anon-gone', { country: 'DE' }, daysAgo(20, now)),
    { ...purchase('gone', daysAgo(20, now), 80, { orderId: 'ord-gone-1' }), ...goneSession },
    event('refund', { customer_id: 'gone' }, { order_id: 'ord-gone-1', amount: 30, currency: 'USD' }, daysAgo(18, now)),
    { ...purchase('keep', daysAgo(5, now), 50, { orderId: 'ord-keep-1' }), session_id: 'sess-keep-1', anonymous_id: 'anon-keep' },
  ]);
  expect(await waitForDrain(rt, 30_000)).toBe(true);
  await rt.models.run('rfm');
});
afterAll(async () => {
  await rt?.close();
});

describe('customer 360 and merges', () => {
  it('shows each customer only their own history before any merge', async () => {
    const gone = await view('gone');
    expect(ids(gone.orders)).toEqual(['ord-gone-1']);
    expect(ids(gone.sessions)).toEqual(['sess-gone-1']);
    expect(ids(gone.identities)).toEqual(['anon-gone']);
    expect(gone.activity?.events).toBe(4);
    expect(gone.merged_into).toBeNull();
    expectRfmAgrees(gone);
    const keep = await view('keep');
    expect(ids(keep.orders)).toEqual(['ord-keep-1']);
    expect(keep.activity?.events).toBe(1);
    expectRfmAgrees(keep);
  });

  let mergeId = '';
  it('after a merge, shows the surviving customer both histories, and the merged one none', async () => {
    mergeId = await merge('gone', 'keep');
    const keep = await view('keep');
    expect(ids(keep.orders)).toEqual(['ord-gone-1', 'ord-keep-1']);
    const goneOrder = keep.orders.find((o) => o.order_id === 'ord-gone-1')!;
    expect(goneOrder.refunded_base).toBeCloseTo(30, 6);
    expect(ids(keep.sessions)).toEqual(['sess-gone-1', 'sess-keep-1']);
    expect(ids(keep.identities)).toEqual(['anon-gone']);
    expect(keep.activity?.events).toBe(5);
    expect(keep.rfm!.frequency).toBe(2);
    expectRfmAgrees(keep);

    const gone = await view('gone');
    expect(gone.merged_into).toBe('keep');
    expect(gone.orders).toEqual([]);
    expect(gone.sessions).toEqual([]);
    expect(gone.identities).toEqual([]);
    expect(gone.activity).toBeNull();
    expect(gone.rfm).toBeNull();
  });

  it('after the undo, shows each customer their own history again', async () => {
    await undo(mergeId);
    const keep = await view('keep');
    expect(ids(keep.orders)).toEqual(['ord-keep-1']);
    expect(ids(keep.sessions)).toEqual(['sess-keep-1']);
    expect(keep.activity?.events).toBe(1);
    expectRfmAgrees(keep);
    const gone = await view('gone');
    expect(gone.merged_into).toBeNull();
    expect(ids(gone.orders)).toEqual(['ord-gone-1']);
    expect(ids(gone.sessions)).toEqual(['sess-gone-1']);
    expect(gone.activity?.events).toBe(4);
    expectRfmAgrees(gone);
  });
});

describe('customer 360 errors', () => {
  it('reports which service failed when recommendations fail, and logs it', async () => {
    const failing = vi.spyOn(RecsStore.prototype, 'recommend').mockImplementation(() => {
      throw new Error('similarity lists unreadable');
    });
    const logged = vi.spyOn(rt.deps.log, 'error');
    try {
      const storefront = await newKey(rt, 'storefront');
      for (const authorization of [auth.authorization, `Bearer ${storefront}`]) {
        const res = await rt.app!.inject({ method: 'GET', url: '/v1/customers/keep', headers: { authorization } });
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json()).toMatchObject({ recommendations: null, recommendations_error: { service: 'recs', status: 'failed' } });
        expect(res.body).not.toContain('similarity lists unreadable'); // the cause is in the log, not in the answer
      }
      expect(failing).toHaveBeenCalled();
      expect(logged).toHaveBeenCalledWith(expect.objectContaining({ service: 'recs', customer_id: 'keep', err: expect.any(Error) }), expect.any(String));
    } finally {
      failing.mockRestore();
      logged.mockRestore();
    }
    const ok = (await rt.app!.inject({ method: 'GET', url: '/v1/customers/keep', headers: auth })).json();
    expect(Array.isArray(ok.recommendations)).toBe(true);
    expect(ok).not.toHaveProperty('recommendations_error');
  });

  it('reports traits that are not valid JSON in the profile and the log, with the customer id and field', () => {
    const lines: Array<{ level: number; customer_id?: string; field?: string }> = [];
    const log = initLogging({ level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
    const pii = new PiiCipher(crypto.randomBytes(32));
    const row = { site: 'demo', country: 'DE', consent: 1, first_seen: '2026-01-01 00:00:00.000', updated_at: '2026-01-02 00:00:00.000' };
    const bad = shapeProfile({ ...row, traits: '{"email": "a@b.c", ' }, 'admin', pii, { log, customerId: 'cust-bad' });
    expect(bad).toMatchObject({ traits: {}, unreadable_fields: ['traits'], country: 'DE', consent: true });
    expect(lines).toEqual([expect.objectContaining({ level: 50, customer_id: 'cust-bad', field: 'traits' })]);
    expect(shapeProfile({ ...row, traits: '["not", "an", "object"]' }, 'analyst', pii, { log, customerId: 'cust-bad' })).toMatchObject({ unreadable_fields: ['traits'] });

    lines.length = 0;
    const good = shapeProfile({ ...row, traits: JSON.stringify({ email: pii.encrypt('a@example.com'), plan: 'gold' }) }, 'admin', pii, { log, customerId: 'cust-ok' });
    expect(good.traits).toEqual({ email: 'a@example.com', plan: 'gold' });
    expect(good).not.toHaveProperty('unreadable_fields');
    expect(lines).toEqual([]);
  });
});
