// Erasure, tried as a data subject's lawyer would: after DELETE /v1/customers/:id nothing of the person may
// be recoverable from ANY file under the data directory (ClickHouse parts and mutation files, the event
// log, key stores, dead letters) nor from any table; the shop account is shut (old cookie, old password,
// no profile re-created by a login), and the shop's revenue totals stay what they were.
import crypto from 'node:crypto';
import { identitySecrets } from '../ingest/identity.ts';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForDrain } from '../bin/runtime.ts';
import { newKey } from './api.fixture.ts';
import { testRuntime, WRITE } from './helpers/runtime.ts';
import { event, purchase, signedBatch } from './helpers/events.ts';
import { shopFor } from '../storefront/shop.ts';
import type { SubjectKeys } from '../lib/subject-keys.ts';

type Rt = Awaited<ReturnType<typeof testRuntime>>;
let rt: Rt;
let admin: string;

const tag = crypto.randomBytes(5).toString('hex');
const EMAIL = `erin.${tag}@erasure.example`;
const NAME = `Erin Q${tag}x Vanished`;
const PASSWORD = 'correct horse battery';
const SECOND_ANON = `anon-erin-${tag}-2`;

let customerId = '';
let firstAnon = '';
let cookie = '';

const cookieOf = (res: { headers: Record<string, unknown> }) =>
  ([] as string[]).concat((res.headers['set-cookie'] as string[] | string | undefined) ?? []).map((c) => c.split(';')[0]!).join('; ');

async function post(batch: unknown[]): Promise<void> {
  const res = await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE }, payload: { batch: signedBatch(identitySecrets(rt.deps.config), rt.deps.config.keys.demoSite, batch) } });
  expect(res.statusCode, res.body).toBe(200);
}

async function revenue(): Promise<{ orders: number; items: number; count: number }> {
  const [r] = await rt.deps.ch.rows<{ orders: number; items: number; count: string }>(
    `SELECT (SELECT round(sum(total), 2) FROM orders FINAL WHERE state IN ('paid', 'shipped', 'delivered')) AS orders,
            (SELECT round(sum(price_base * quantity), 2) FROM order_items FINAL) AS items,
            (SELECT count() FROM orders FINAL) AS count`,
  );
  return { orders: Number(r!.orders), items: Number(r!.items), count: Number(r!.count) };
}

function* filesUnder(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* filesUnder(p);
    else if (e.isFile()) yield p;
  }
}

/** Every file under the data directory, read as bytes, searched for each needle (as UTF-8 and as it sits in JSON). */
function filesMentioning(needles: string[]): Array<{ file: string; needle: string }> {
  const hits: Array<{ file: string; needle: string }> = [];
  const patterns = needles.flatMap((n) => [Buffer.from(n, 'utf8'), Buffer.from(n.toLowerCase(), 'utf8')]).map((b, i) => ({ b, n: needles[Math.floor(i / 2)]! }));
  for (const file of filesUnder(rt.dir)) {
    const bytes = fs.readFileSync(file);
    for (const p of patterns) if (bytes.includes(p.b)) hits.push({ file: path.relative(rt.dir, file), needle: p.n });
  }
  return hits;
}

/** Every table of every database the store holds, read back whole (decompressed by ClickHouse), searched for the needles. */
async function tablesMentioning(needles: string[]): Promise<Array<{ table: string; needle: string }>> {
  const tables = await rt.deps.ch.rows<{ database: string; name: string }>(
    `SELECT database, name FROM system.tables WHERE database NOT IN ('system', 'INFORMATION_SCHEMA', 'information_schema') AND engine NOT LIKE '%View'`,
  );
  const hits: Array<{ table: string; needle: string }> = [];
  for (const t of tables) {
    const [r] = await rt.deps.ch.rows<{ found: number[] }>(
      `SELECT groupArray(n) AS found FROM (SELECT arrayJoin({needles:Array(String)}) AS n)
       WHERE (SELECT count() FROM {db:Identifier}.{tbl:Identifier} AS x WHERE positionCaseInsensitive(toString(tuple(*)), n) > 0) > 0`,
      { needles, db: t.database, tbl: t.name },
    ).catch(async () => {
      // Fallback for tables whose columns tuple(*) cannot stringify: the whole table as JSON text.
      const rows = await rt.deps.ch.rows<Record<string, unknown>>(`SELECT * FROM {db:Identifier}.{tbl:Identifier}`, { db: t.database, tbl: t.name });
      const text = JSON.stringify(rows).toLowerCase();
      return [{ found: needles.filter((n) => text.includes(n.toLowerCase())) as unknown as number[] }];
    });
    for (const n of (r?.found ?? []) as unknown as string[]) hits.push({ table: `${t.database}.${t.name}`, needle: n });
  }
  return hits;
}

beforeAll(async () => {
  rt = await testRuntime();
  admin = await newKey(rt, 'admin');
  const shop = await shopFor(rt.deps);
  await shop.importProducts([{ product_id: 'LAMP', title: 'Lamp', description: '', category: 'Home', tags: [], price: 80, currency: 'USD', stock: 100, listed: 1 }]);

  // A bystander whose order must survive the erasure untouched.
  const other = await rt.app!.inject({ method: 'POST', url: '/shop/api/signup', payload: { email: `other.${tag}@example.com`, name: 'Bystander', password: PASSWORD } });
  expect(other.statusCode, other.body).toBe(201);
  const otherCookie = cookieOf(other);

  // Erin: a shop member (signs up from her first browser), with orders and a second device.
  const home = await rt.app!.inject({ url: '/shop' });
  const aidCookie = cookieOf(home);
  firstAnon = /cvm_aid=([^;]+)/.exec(aidCookie)![1]!;
  const signup = await rt.app!.inject({ method: 'POST', url: '/shop/api/signup', headers: { cookie: aidCookie }, payload: { email: EMAIL, name: NAME, password: PASSWORD } });
  expect(signup.statusCode, signup.body).toBe(201);
  cookie = `${aidCookie}; ${cookieOf(signup)}`;
  customerId = (await rt.app!.inject({ url: '/shop/api/me', headers: { cookie } })).json().customer_id;
  expect(customerId).toMatch(/^cus_/);

  for (const c of [cookie, otherCookie]) {
    expect((await rt.app!.inject({ method: 'POST', url: '/shop/api/cart/items', headers: { cookie: c }, payload: { product_id: 'LAMP', quantity: 2 } })).statusCode).toBe(200);
    const order = (await rt.app!.inject({ method: 'POST', url: '/shop/api/checkout', headers: { cookie: c } })).json().order_id as string;
    expect((await rt.app!.inject({ method: 'POST', url: `/shop/api/orders/${order}/pay`, headers: { cookie: c } })).statusCode).toBe(200);
  }

  await post([
    { ...event('page_view', { anonymous_id: SECOND_ANON }, {}), session_id: `sess-${tag}` },
    { event_id: crypto.randomUUID(), type: 'identify', ts: new Date().toISOString(), customer_id: customerId, anonymous_id: SECOND_ANON, traits: { email: EMAIL, name: NAME, consent: true } },
    // A purchase in a currency with no rate: a dead letter whose raw payload names her and carries her traits.
    { ...purchase(customerId, new Date(), 12, { currency: 'XTS' }), anonymous_id: SECOND_ANON, traits: { email: EMAIL, name: NAME } },
    event('page_view', { customer_id: 'cus_bystander_web', anonymous_id: 'anon-bystander' }, {}),
  ]);
  expect(await waitForDrain(rt, 60_000)).toBe(true);
}, 180_000);

afterAll(async () => {
  await rt?.close();
});

describe('erasure reaches everything', () => {
  it('leaves no trace of the person in any file or table, shuts the account, and keeps shop revenue', async () => {
    const needles = () => [customerId, firstAnon, SECOND_ANON, EMAIL, NAME];
    // Preconditions: her ids are in the tables and her e-mail and name are held (encrypted at rest; the export opens them).
    expect((await tablesMentioning(needles())).map((h) => h.needle)).toEqual(expect.arrayContaining([customerId, firstAnon, SECOND_ANON]));
    const exported = await rt.app!.inject({ url: `/v1/customers/${customerId}/export`, headers: { authorization: `Bearer ${admin}` } });
    expect(exported.statusCode).toBe(200);
    expect(exported.body).toContain(EMAIL);
    expect(exported.body).toContain(NAME);
    const [dead] = await rt.deps.ch.rows<{ n: string }>(`SELECT count() AS n FROM events_rejected WHERE log_offset >= 0`);
    expect(Number(dead!.n)).toBeGreaterThan(0);
    // Her data keys (wrapped), as they sit in subject_keys: after erasure no file may hold them.
    const keys = rt.deps.services.subjectKeys!;
    const wrapped = (await rt.deps.ch.rows<{ wrapped: string }>(`SELECT wrapped FROM subject_keys WHERE subject IN {s:Array(String)}`, {
      s: [customerId, firstAnon, SECOND_ANON].map((x) => keys.pseudonym(x)),
    })).map((r) => r.wrapped.slice(4, 44));
    expect(wrapped.length).toBeGreaterThan(0);
    expect(filesMentioning(wrapped).length).toBeGreaterThan(0);
    const before = await revenue();
    expect(before.count).toBe(2);
    expect(before.orders).toBe(320);

    const res = await rt.app!.inject({ method: 'DELETE', url: `/v1/customers/${customerId}`, headers: { authorization: `Bearer ${admin}` } });
    expect.soft(res.statusCode, res.body).toBe(200);
    expect.soft(res.json().complete).toBe(true);

    // The account is shut: the old cookie opens nothing, the old password logs nobody in, sign-up is not a way back in.
    expect.soft((await rt.app!.inject({ url: '/shop/api/me', headers: { cookie } })).statusCode).toBe(401);
    expect.soft((await rt.app!.inject({ method: 'POST', url: '/shop/api/login', payload: { email: EMAIL, password: PASSWORD } })).statusCode).toBe(401);
    const loginForm = await rt.app!.inject({ method: 'POST', url: '/shop/login', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie }, payload: new URLSearchParams({ email: EMAIL, password: PASSWORD }).toString() });
    expect.soft(loginForm.statusCode).toBe(401);
    expect(await waitForDrain(rt, 60_000)).toBe(true);

    // Shop revenue is unchanged: her orders are anonymised, not deleted.
    expect.soft(await revenue()).toEqual(before);

    // Nothing recoverable in any table (read back decompressed) ...
    expect.soft(await tablesMentioning(needles())).toEqual([]);
    // ... nor in any file under the data directory: parts, mutation files, the event log, key stores.
    expect.soft(filesMentioning(needles())).toEqual([]);
    // Her event-log keys are gone from disk too (crypto-shredding): sealed copies of her records open with nothing.
    expect.soft(filesMentioning(wrapped)).toEqual([]);
  }, 180_000);
});
