// Money in EUR and JPY is converted with the rate of the event's own day: two days of rates with different
// values, imported through the admin API (the running transformer reloads at once) and `cvm fx import`.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purchase, event } from './helpers/events.ts';
import { ADMIN, WRITE, testRuntime, FIXTURE_NOW } from './helpers/runtime.ts';
import { waitForDrain, type Runtime } from '../bin/runtime.ts';
import { holdStore } from './helpers/hold-store.ts';

let rt: Runtime & { dir: string };
const DAY = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
// Two consecutive UTC days a little in the past, and noon on each.
const D1 = Math.floor(FIXTURE_NOW / DAY) * DAY - 10 * DAY;
const D2 = D1 + DAY;
const D3 = D1 + 2 * DAY;
const noon = (d: number) => new Date(d + 12 * 3600_000).toISOString();

function cvm(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['bin/cvm.mjs', ...args], {
    encoding: 'utf8',
    env: { ...process.env, CVM_DATA_DIR: rt.dir, CVM_LOG_LEVEL: 'silent', CVM_DEMO: 'false', CVM_ADMIN_KEY: ADMIN, ...env },
  });
}

async function post(batch: unknown[]) {
  const res = await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE }, payload: { batch } });
  expect(res.statusCode).toBe(200);
}

async function amounts(orderIds: string[]): Promise<Record<string, number>> {
  const rows = await rt.deps.ch.rows<{ order_id: string; amount_base: number }>('SELECT order_id, amount_base FROM events FINAL WHERE order_id IN {ids:Array(String)}', { ids: orderIds });
  return Object.fromEntries(rows.map((r) => [r.order_id, r.amount_base]));
}

beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt?.close();
});

describe('exchange rates per day', () => {
  it('imports two days of rates through the API and converts each purchase with its own day', async () => {
    const csv = `day,currency,rate\n${dayOf(D1)},EUR,1.05\n${dayOf(D1)},JPY,0.0064\n${dayOf(D2)},EUR,1.12\n${dayOf(D2)},JPY,0.0071\n`;
    const unauth = await rt.app!.inject({ method: 'POST', url: '/v1/admin/fx/rates', headers: { 'content-type': 'text/csv' }, payload: csv });
    expect(unauth.statusCode).toBe(401);
    const bad = await rt.app!.inject({ method: 'POST', url: '/v1/admin/fx/rates', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'text/csv' }, payload: 'day,currency,rate\n2024-13-01,EUR,x\n' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/line 2/);
    const res = await rt.app!.inject({ method: 'POST', url: '/v1/admin/fx/rates', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'text/csv' }, payload: csv });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ imported: 4, currencies: ['EUR', 'JPY'], days: { first: dayOf(D1), last: dayOf(D2) }, transformer_reloaded: true });

    await post([
      purchase('fx-1', noon(D1), 200, { currency: 'EUR', orderId: 'eur-d1' }),
      purchase('fx-1', noon(D2), 200, { currency: 'EUR', orderId: 'eur-d2' }),
      purchase('fx-2', noon(D1), 10_000, { currency: 'JPY', orderId: 'jpy-d1' }),
      purchase('fx-2', noon(D2), 10_000, { currency: 'JPY', orderId: 'jpy-d2' }),
      // A day with no rate of its own uses the latest earlier one (D2's).
      purchase('fx-2', noon(D3), 10_000, { currency: 'JPY', orderId: 'jpy-d3' }),
    ]);
    expect(await waitForDrain(rt, 30_000)).toBe(true);
    const got = await amounts(['eur-d1', 'eur-d2', 'jpy-d1', 'jpy-d2', 'jpy-d3']);
    expect(got['eur-d1']).toBeCloseTo(210, 6);
    expect(got['eur-d2']).toBeCloseTo(224, 6);
    expect(got['jpy-d1']).toBeCloseTo(64, 6);
    expect(got['jpy-d2']).toBeCloseTo(71, 6);
    expect(got['jpy-d3']).toBeCloseTo(71, 6);
    // Order lines use the same day's rate.
    const [line] = await rt.deps.ch.rows<{ price_base: number }>("SELECT price_base FROM order_items FINAL WHERE order_id = 'eur-d2'");
    expect(line!.price_base).toBeCloseTo(224, 6);
  });

  it('cvm fx import loads a CSV on a stopped store, and refuses while a cvm holds it', async () => {
    const file = path.join(rt.dir, 'rates.csv');
    fs.writeFileSync(file, `date,currency,rate,base\n${dayOf(D3)},EUR,1.2,USD\n`);
    await rt.close();

    // Another live process holds the store: the command names the API call instead.
    const release = await holdStore(rt.dir);
    const held = cvm(['fx', 'import', file]);
    expect(held.status).toBe(1);
    expect(held.stderr).toContain('/v1/admin/fx/rates');
    await release();

    const ok = cvm(['fx', 'import', file]);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toContain(`imported 1 rate(s) for EUR from ${dayOf(D3)} to ${dayOf(D3)}`);
    expect(ok.status).toBe(0);

    rt = await testRuntime({ CVM_DATA_DIR: rt.dir });
    await post([purchase('fx-1', noon(D3), 100, { currency: 'EUR', orderId: 'eur-d3' }), event('page_view', { anonymous_id: 'fx-visitor' })]);
    expect(await waitForDrain(rt, 30_000)).toBe(true);
    expect((await amounts(['eur-d3']))['eur-d3']).toBeCloseTo(120, 6);
    const [audit] = await rt.deps.ch.rows<{ n: string }>("SELECT count() AS n FROM audit_log WHERE action = 'fx.import'");
    expect(Number(audit!.n)).toBe(2);
  });
});
