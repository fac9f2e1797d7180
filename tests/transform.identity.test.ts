// Identity stitching on the real engines: a visitor who browses and buys anonymously, then logs in, is one
// customer (RFM counts the pre-login purchase); customer merges resolve at query time and can be undone.
import { spawnSync } from 'node:child_process';
import { identitySecrets } from '../ingest/identity.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purchase, daysAgo, event, signedBatch } from './helpers/events.ts';
import { ADMIN, WRITE, testRuntime, FIXTURE_NOW } from './helpers/runtime.ts';
import { waitForDrain, type Runtime } from '../bin/runtime.ts';

let rt: Runtime & { dir: string };
const auth = { authorization: `Bearer ${ADMIN}` };
const now = FIXTURE_NOW;

async function post(batch: unknown[]) {
  const res = await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE }, payload: { batch: signedBatch(identitySecrets(rt.deps.config), rt.deps.config.keys.demoSite, batch) } });
  expect(res.statusCode).toBe(200);
  expect(res.json().rejected).toEqual([]);
}

async function resolved(where: string): Promise<Record<string, number>> {
  const rows = await rt.deps.ch.rows<{ c: string; n: string }>(`SELECT resolved_customer_id AS c, count() AS n FROM events_resolved WHERE ${where} GROUP BY c ORDER BY c`);
  return Object.fromEntries(rows.map((r) => [r.c, Number(r.n)]));
}

async function rfm(id: string) {
  await rt.models.run('rfm');
  const res = await rt.app!.inject({ method: 'GET', url: `/v1/customers/${id}`, headers: auth });
  expect(res.statusCode).toBe(200);
  return res.json().rfm as { frequency: number; monetary: number };
}

beforeAll(async () => {
  rt = await testRuntime();
  const anon = { anonymous_id: 'anon-v1' };
  // Browses and checks out as a guest (anonymous id only), then signs up and buys again logged in.
  const guestOrder = { ...purchase('x', daysAgo(30, now), 50, { orderId: 'guest-order' }), customer_id: undefined, ...anon };
  await post([
    { ...event('page_view', anon, {}, daysAgo(30, now)), context: { url: 'https://shop.example/', country: 'Germany' } },
    event('product_view', anon, { product_id: 'p1' }, daysAgo(30, now)),
    guestOrder,
    { ...event('identify', { ...anon, customer_id: 'cust-v1' }, {}, daysAgo(29, now)), traits: { country: 'Germany', email: 'v1@example.com' } },
    { ...purchase('cust-v1', daysAgo(5, now), 70, { orderId: 'member-order' }), anonymous_id: 'anon-v1' },
    purchase('guest-42', daysAgo(10, now), 30, { orderId: 'other-id-order' }),
    purchase('someone-else', daysAgo(3, now), 500),
  ]);
  expect(await waitForDrain(rt, 30_000)).toBe(true);
});
afterAll(async () => {
  await rt?.close();
});

describe('anonymous visitor who logs in', () => {
  it('has every event, before and after login, under one customer', async () => {
    expect(await resolved("anonymous_id = 'anon-v1' OR customer_id = 'cust-v1'")).toEqual({ 'cust-v1': 5 });
    // Stored as sent: the link lives in identities, resolved at query time.
    const [guest] = await rt.deps.ch.rows<{ customer_id: string }>("SELECT customer_id FROM events WHERE order_id = 'guest-order'");
    expect(guest!.customer_id).toBe('');
  });

  it('counts the pre-login purchase in RFM frequency and monetary', async () => {
    expect(await rfm('cust-v1')).toMatchObject({ frequency: 2, monetary: 120 });
  });

  it('gives events without a country the customer known country', async () => {
    const [member] = await rt.deps.ch.rows<{ country: string }>("SELECT country FROM events WHERE order_id = 'member-order'");
    expect(member!.country).toBe('DE');
  });
});

describe('customer merges', () => {
  let mergeId = '';

  it('refuses merges that make no sense', async () => {
    const merge = (body: unknown) => rt.app!.inject({ method: 'POST', url: '/v1/admin/customers/merge', headers: auth, payload: body as Record<string, unknown> });
    expect((await rt.app!.inject({ method: 'POST', url: '/v1/admin/customers/merge', payload: { from: 'a', into: 'b' } })).statusCode).toBe(401);
    expect((await merge({ from: 'cust-v1', into: 'cust-v1' })).statusCode).toBe(400);
    expect((await merge({ from: 'cust-v1' })).statusCode).toBe(400);
    const unknown = await merge({ from: 'nobody', into: 'cust-v1' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: 'unknown_customer', field: 'from' });
  });

  it('sends the merged customer events to the surviving one, in events_resolved and RFM', async () => {
    const res = await rt.app!.inject({ method: 'POST', url: '/v1/admin/customers/merge', headers: auth, payload: { from: 'guest-42', into: 'cust-v1' } });
    expect(res.statusCode).toBe(201);
    const merge = res.json().merge;
    expect(merge).toMatchObject({ from_customer_id: 'guest-42', into_customer_id: 'cust-v1', undone: 0, actor: 'bootstrap-admin' });
    mergeId = merge.merge_id;
    expect(await resolved("customer_id IN ('guest-42', 'cust-v1') OR anonymous_id = 'anon-v1'")).toEqual({ 'cust-v1': 6 });
    expect(await rfm('cust-v1')).toMatchObject({ frequency: 3, monetary: 150 });

    // guest-42 is taken: a second merge of it, or a loop back, is refused.
    const again = await rt.app!.inject({ method: 'POST', url: '/v1/admin/customers/merge', headers: auth, payload: { from: 'guest-42', into: 'someone-else' } });
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toBe('already_merged');
    const loop = await rt.app!.inject({ method: 'POST', url: '/v1/admin/customers/merge', headers: auth, payload: { from: 'cust-v1', into: 'guest-42' } });
    expect(loop.statusCode).toBe(409);
    expect(loop.json().error).toBe('cycle');
  });

  it('follows chains: merged into a customer that is merged in turn', async () => {
    const res = await rt.app!.inject({ method: 'POST', url: '/v1/admin/customers/merge', headers: auth, payload: { from: 'cust-v1', into: 'someone-else' } });
    expect(res.statusCode).toBe(201);
    expect(await resolved("customer_id IN ('guest-42', 'cust-v1', 'someone-else') OR anonymous_id = 'anon-v1'")).toEqual({ 'someone-else': 7 });
    const undo = await rt.app!.inject({ method: 'POST', url: `/v1/admin/customers/merge/${res.json().merge.merge_id}/undo`, headers: auth });
    expect(undo.statusCode).toBe(200);
  });

  it('undoes a merge: the events resolve to their own customer again', async () => {
    const undo = await rt.app!.inject({ method: 'POST', url: `/v1/admin/customers/merge/${mergeId}/undo`, headers: auth });
    expect(undo.statusCode).toBe(200);
    expect(undo.json().merge).toMatchObject({ merge_id: mergeId, undone: 1 });
    expect(await resolved("customer_id = 'guest-42'")).toEqual({ 'guest-42': 1 });
    expect(await rfm('cust-v1')).toMatchObject({ frequency: 2, monetary: 120 });
    expect((await rt.app!.inject({ method: 'POST', url: `/v1/admin/customers/merge/${mergeId}/undo`, headers: auth })).statusCode).toBe(409);
    expect((await rt.app!.inject({ method: 'POST', url: '/v1/admin/customers/merge/no-such-merge/undo', headers: auth })).statusCode).toBe(404);
    const list = (await rt.app!.inject({ method: 'GET', url: '/v1/admin/customers/merges', headers: auth })).json();
    expect(list.merges).toHaveLength(2);
    expect(list.merges.every((m: { undone: number }) => m.undone === 1)).toBe(true);
    const [audit] = await rt.deps.ch.rows<{ n: string }>("SELECT count() AS n FROM audit_log WHERE action IN ('customers.merge', 'customers.merge.undo')");
    expect(Number(audit!.n)).toBe(4);
  });

  it('cvm customers merge works on a stopped store', async () => {
    await rt.close();
    const res = spawnSync(process.execPath, ['bin/cvm.mjs', 'customers', 'merge', 'guest-42', 'cust-v1', '--json'], {
      encoding: 'utf8',
      env: { ...process.env, CVM_DATA_DIR: rt.dir, CVM_LOG_LEVEL: 'silent', CVM_DEMO: 'false', CVM_ADMIN_KEY: ADMIN },
    });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    expect(JSON.parse(res.stdout).merge).toMatchObject({ from_customer_id: 'guest-42', into_customer_id: 'cust-v1', actor: 'cli' });
    rt = await testRuntime({ CVM_DATA_DIR: rt.dir });
    expect(await resolved("customer_id = 'guest-42'")).toEqual({ 'cust-v1': 1 });
  });
});
