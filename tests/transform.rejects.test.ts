// The dead letter end to end: a purchase in a currency without a rate is rejected with the reason, listed,
// and after the rate is imported, replayed into events with the right base amount. Plus the pipeline status.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purchase, event } from './helpers/events.ts';
import { ADMIN, WRITE, testRuntime, FIXTURE_NOW } from './helpers/runtime.ts';
import { waitForDrain, type Runtime } from '../bin/runtime.ts';
import { holdStore } from './helpers/hold-store.ts';

let rt: Runtime & { dir: string };
const auth = { authorization: `Bearer ${ADMIN}` };
const DAY = 86_400_000;
const EVENT_DAY = Math.floor(FIXTURE_NOW / DAY) * DAY - 3 * DAY;

async function post(batch: unknown[]) {
  return rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE }, payload: { batch } });
}

beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt?.close();
});

describe('rejects', () => {
  const xaf = purchase('rj-1', new Date(EVENT_DAY + 10 * 3600_000), 65_000, { currency: 'XAF', orderId: 'order-xaf' });
  const noId = { ...event('page_view', {}), anonymous_id: undefined };

  it('stores every reject with reason, raw payload, source and time', async () => {
    const res = await post([xaf, noId, purchase('rj-2', new Date(EVENT_DAY), 10, { orderId: 'order-usd' })]);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ accepted: 2, rejected: [{ index: 1, field: 'anonymous_id' }] });
    expect(await waitForDrain(rt, 30_000)).toBe(true);

    expect((await rt.app!.inject({ method: 'GET', url: '/v1/admin/rejects' })).statusCode).toBe(401);
    const all = (await rt.app!.inject({ method: 'GET', url: '/v1/admin/rejects', headers: auth })).json();
    expect(all.matching).toBe(2);
    const list = await rt.app!.inject({ method: 'GET', url: '/v1/admin/rejects?reason=unknown%20currency', headers: auth });
    expect(list.statusCode).toBe(200);
    const body = list.json();
    expect(body.matching).toBe(1);
    const r = body.rejects[0];
    expect(r).toMatchObject({ source: 'server', site: 'demo', event_id: xaf.event_id, field: 'properties.currency', reason: 'unknown currency XAF: no exchange rate to USD', replayed: 0 });
    expect(JSON.parse(r.raw)).toMatchObject({ event_id: xaf.event_id, properties: { currency: 'XAF', total: 65_000 } });
    expect(Date.parse(r.received_at.replace(' ', 'T') + 'Z')).toBeGreaterThan(Date.now() - 60_000); // real clock on purpose: received_at is the collector's wall clock
    const [stored] = await rt.deps.ch.rows<{ n: string }>("SELECT count() AS n FROM events WHERE order_id = 'order-xaf'");
    expect(Number(stored!.n)).toBe(0);
  });

  it('lists rejects in the pipeline status, by reason, with lag, throughput and the last insert', async () => {
    expect((await rt.app!.inject({ method: 'GET', url: '/v1/pipeline/status' })).statusCode).toBe(401);
    // Analysts see the status; the dead letter (raw payloads) is for admins.
    const created = await rt.app!.inject({ method: 'POST', url: '/v1/admin/keys', headers: auth, payload: { role: 'analyst', name: 'ops dashboard' } });
    expect(created.statusCode).toBe(201);
    const analyst = { authorization: `Bearer ${created.json().key}` };
    expect((await rt.app!.inject({ method: 'GET', url: '/v1/pipeline/status', headers: analyst })).statusCode).toBe(200);
    expect((await rt.app!.inject({ method: 'GET', url: '/v1/admin/rejects', headers: analyst })).statusCode).toBe(403);
    const res = await rt.app!.inject({ method: 'GET', url: '/v1/pipeline/status', headers: auth });
    expect(res.statusCode).toBe(200);
    const s = res.json();
    expect(s.lag).toMatchObject({ topic: 'cvm.events.raw', group: 'transform', total: 0, partitions: [{ partition: 0, lag: 0, high: 3, committed: 3 }] });
    expect(s.transformer).toMatchObject({ window_s: 60, events_in: 3, events_out: 1, rejected: 2, failed_batches: 0 });
    // The bulk topic's transformer reports beside it: nothing went through it here.
    expect(s.bulk_lag).toMatchObject({ topic: 'cvm.events.bulk', group: 'transform-bulk', total: 0 });
    expect(s.bulk_transformer).toMatchObject({ window_s: 60, events_in: 0, failed_batches: 0, failing: null });
    expect(s.transformer.events_in_per_s).toBeCloseTo(3 / 60, 2);
    expect(s.transformer.events_out_per_s).toBeCloseTo(1 / 60, 2);
    expect(Date.now() - Date.parse(s.last_insert_at)).toBeLessThan(60_000); // real clock on purpose: the last insert's wall-clock time
    expect(s.rejects).toMatchObject({ total: 2, last_24h: 2, pending: 2 });
    expect(s.rejects.by_reason).toEqual(
      expect.arrayContaining([
        { reason: 'unknown currency XAF: no exchange rate to USD', total: 1, last_24h: 1, pending: 1 },
        { reason: 'anonymous_id or customer_id is required', total: 1, last_24h: 1, pending: 1 },
      ]),
    );
  });

  it('replays after the rate is imported: the event lands with the right base amount', async () => {
    const bad = await rt.app!.inject({ method: 'POST', url: '/v1/admin/rejects/replay', headers: auth, payload: {} });
    expect(bad.statusCode).toBe(400);
    const notUuid = await rt.app!.inject({ method: 'POST', url: '/v1/admin/rejects/replay', headers: auth, payload: { ids: ['nope'] } });
    expect(notUuid.statusCode).toBe(400);

    const day = new Date(EVENT_DAY).toISOString().slice(0, 10);
    const fx = await rt.app!.inject({ method: 'POST', url: '/v1/admin/fx/rates', headers: { ...auth, 'content-type': 'text/csv' }, payload: `day,currency,rate\n${day},XAF,0.00165\n` });
    expect(fx.statusCode).toBe(200);
    const replay = await rt.app!.inject({ method: 'POST', url: '/v1/admin/rejects/replay', headers: auth, payload: { reason: 'unknown currency XAF' } });
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toMatchObject({ replayed: 1 });
    expect(await waitForDrain(rt, 30_000)).toBe(true);

    const [ev] = await rt.deps.ch.rows<{ amount: number; amount_base: number; currency: string; customer_id: string }>(
      "SELECT amount, amount_base, currency, customer_id FROM events WHERE order_id = 'order-xaf'",
    );
    expect(ev).toMatchObject({ amount: 65_000, currency: 'XAF', customer_id: 'rj-1' });
    expect(ev!.amount_base).toBeCloseTo(107.25, 6);
    const [line] = await rt.deps.ch.rows<{ price_base: number }>("SELECT price_base FROM order_items WHERE order_id = 'order-xaf'");
    expect(line!.price_base).toBeCloseTo(107.25, 6);

    // The reject is marked replayed: out of the default list, in the full one.
    const pending = (await rt.app!.inject({ method: 'GET', url: '/v1/admin/rejects?reason=XAF', headers: auth })).json();
    expect(pending.matching).toBe(0);
    const everything = (await rt.app!.inject({ method: 'GET', url: '/v1/admin/rejects?reason=XAF&all=true', headers: auth })).json();
    expect(everything.rejects).toHaveLength(1);
    expect(everything.rejects[0].replayed).toBe(1);
    // Replaying again finds nothing left to replay.
    expect((await rt.app!.inject({ method: 'POST', url: '/v1/admin/rejects/replay', headers: auth, payload: { reason: 'XAF' } })).json()).toMatchObject({ replayed: 0 });
  });

  it('a replay that is still invalid comes back as a new reject, never silently dropped', async () => {
    const [row] = (await rt.app!.inject({ method: 'GET', url: '/v1/admin/rejects?reason=anonymous_id', headers: auth })).json().rejects;
    const replay = await rt.app!.inject({ method: 'POST', url: '/v1/admin/rejects/replay', headers: auth, payload: { ids: [row.reject_id] } });
    expect(replay.json()).toMatchObject({ replayed: 1, reject_ids: [row.reject_id] });
    expect(await waitForDrain(rt, 30_000)).toBe(true);
    const again = (await rt.app!.inject({ method: 'GET', url: '/v1/admin/rejects?reason=anonymous_id', headers: auth })).json();
    expect(again.matching).toBe(1);
    expect(again.rejects[0]).toMatchObject({ source: 'replay', reason: 'anonymous_id or customer_id is required', replayed: 0 });
    expect(again.rejects[0].reject_id).not.toBe(row.reject_id);
  });

  it('cvm rejects list and replay work on a stopped store', async () => {
    await rt.close();
    const env = { ...process.env, CVM_DATA_DIR: rt.dir, CVM_LOG_LEVEL: 'silent', CVM_DEMO: 'false', CVM_ADMIN_KEY: ADMIN };
    const cvm = (args: string[]) => spawnSync(process.execPath, ['bin/cvm.mjs', ...args], { encoding: 'utf8', env });
    const release = await holdStore(rt.dir);
    const held = cvm(['rejects', 'replay', '--reason', 'anonymous_id']);
    expect(held.status).toBe(1);
    expect(held.stderr).toContain('/v1/admin/rejects/replay');
    await release();

    const list = cvm(['rejects', 'list', '--all', '--json']);
    expect(list.status).toBe(0);
    const body = JSON.parse(list.stdout);
    expect(body.matching).toBe(3);
    expect(body.rejects.map((r: { reason: string; replayed: number }) => `${r.reason}:${r.replayed}`).sort()).toEqual([
      'anonymous_id or customer_id is required:0',
      'anonymous_id or customer_id is required:1',
      'unknown currency XAF: no exchange rate to USD:1',
    ]);

    // Replay from the command line goes into the stopped store's log; the next start stores it.
    const replay = cvm(['rejects', 'replay', '--reason', 'anonymous_id', '--json']);
    expect(replay.status).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({ replayed: 1 });
    rt = await testRuntime({ CVM_DATA_DIR: rt.dir });
    expect(await waitForDrain(rt, 30_000)).toBe(true);
    const after = (await rt.app!.inject({ method: 'GET', url: '/v1/admin/rejects?reason=anonymous_id&all=true', headers: auth })).json();
    expect(after.rejects.map((r: { source: string; replayed: number }) => `${r.source}:${r.replayed}`).sort()).toEqual(['replay:0', 'replay:1', 'server:1']);
  });
});
