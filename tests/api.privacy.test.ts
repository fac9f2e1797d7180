// Privacy: PII encrypted at rest, export of everything held, erasure that leaves no row in ANY table
// (tables found in the catalogue, including one created by this test after the code was written), and
// consent views for the model jobs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForDrain } from '../bin/runtime.ts';
import { chTime } from '../lib/clickhouse.ts';
import { ConfigError, testConfig } from '../lib/config.ts';
import { DecryptError, PiiCipher, ensureEncryptionKey, maskTraits } from '../lib/crypto.ts';
import { ScoreCache } from '../api/score-cache.ts';
import { ALICE, identify, post, seededShop, type Shop } from './api.fixture.ts';
import { event } from './helpers/events.ts';

let shop: Shop;

beforeAll(async () => {
  shop = await seededShop();
  await post(shop.rt, [
    // A second device of Alice's, linked by a later identify: its anonymous events are hers too.
    { ...event('page_view', { anonymous_id: 'anon-alice-2' }, {}), session_id: 'sess-alice-2' },
    identify(ALICE.id, 'anon-alice-2', { email: ALICE.email, consent: true }),
    // A purchase the transformer rejects (no currency): her id sits in the dead-letter table's raw payload.
    event('purchase', { customer_id: ALICE.id }, { order_id: 'bad-1', total: 5, items: [{ product_id: 'p', quantity: 1, price: 5 }] }),
    // Carol opts out.
    identify('cust-carol', 'anon-carol', { email: 'carol@example.com', consent: false }),
    { ...event('page_view', { customer_id: 'cust-carol', anonymous_id: 'anon-carol' }, {}), session_id: 'sess-carol' },
  ]);
  expect(await waitForDrain(shop.rt, 30_000)).toBe(true);
});
afterAll(async () => {
  await shop?.rt.close();
});

/** Every table that holds rows and has a column naming a person, from the catalogue. */
async function personTablesFromCatalogue(): Promise<Array<{ table: string; columns: string[] }>> {
  const rows = await shop.rt.deps.ch.rows<{ table: string; columns: string[] }>(
    `SELECT c.table AS table, groupArray(c.name) AS columns
     FROM system.columns AS c
     INNER JOIN system.tables AS t ON t.database = c.database AND t.name = c.table
     WHERE c.database = currentDatabase() AND t.engine NOT LIKE '%View'
       AND (c.name IN ('customer_id', 'anonymous_id', 'actor_id') OR endsWith(c.name, '_customer_id'))
     GROUP BY c.table ORDER BY c.table`,
  );
  return rows;
}

async function rowsAbout(ids: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of await personTablesFromCatalogue()) {
    const where = t.columns.map((c) => `toString(\`${c}\`) IN {ids:Array(String)}`).join(' OR ');
    const [r] = await shop.rt.deps.ch.rows<{ n: string }>(`SELECT count() AS n FROM \`${t.table}\` WHERE ${where}`, { ids });
    out[t.table] = Number(r!.n);
  }
  const [rej] = await shop.rt.deps.ch.rows<{ n: string }>(`SELECT count() AS n FROM events_rejected WHERE multiSearchAny(raw, {ids:Array(String)})`, { ids });
  out.events_rejected_raw = Number(rej!.n);
  return out;
}

describe('encryption at rest', () => {
  it('encrypts with a random IV per value, detects tampering, and masks for analysts', () => {
    const c = new PiiCipher(crypto.randomBytes(32));
    const a = c.encrypt('x@example.com');
    const b = c.encrypt('x@example.com');
    expect(a).not.toBe(b);
    expect(a.startsWith('enc:v1:')).toBe(true);
    expect(c.decrypt(a)).toBe('x@example.com');
    const raw = Buffer.from(a.slice(7), 'base64url');
    raw[raw.length - 1]! ^= 1;
    expect(() => c.decrypt('enc:v1:' + raw.toString('base64url'))).toThrow(DecryptError);
    expect(() => new PiiCipher(crypto.randomBytes(32)).decrypt(a)).toThrow(DecryptError);
    expect(c.decrypt(c.encrypt({ street: 'Main St 1', city: 'Berlin' }))).toEqual({ street: 'Main St 1', city: 'Berlin' });
    expect(maskTraits({ email: 'john.doe@shop.de', name: 'John Doe', phone: '+1 555 0100', address: 'x', plan: 'gold' })).toEqual({
      email: 'j***@shop.de', name: 'J*** D***', phone: '***0100', address: '***', plan: 'gold',
    });
  });

  it('generates the key once into the data directory on the embedded engine and requires it with a server', () => {
    const file = path.join(shop.rt.dir, 'encryption.key');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const again = ensureEncryptionKey(shop.rt.deps.config);
    expect(again.generated).toBe(false);
    expect(again.key.toString('hex')).toBe(fs.readFileSync(file, 'utf8').trim());
    expect(() => ensureEncryptionKey(testConfig({ CLICKHOUSE_URL: 'http://localhost:8123' }))).toThrow(ConfigError);
    const fixed = crypto.randomBytes(32).toString('hex');
    expect(ensureEncryptionKey(testConfig({ CLICKHOUSE_URL: 'http://localhost:8123', CVM_ENCRYPTION_KEY: fixed })).key.toString('hex')).toBe(fixed);
  });
});

describe('consent', () => {
  it('keeps opted-out customers out of the consent views the model jobs read', async () => {
    const ch = shop.rt.deps.ch;
    expect((await ch.rows<{ customer_id: string }>('SELECT customer_id FROM customers_opted_out')).map((r) => r.customer_id)).toEqual(['cust-carol']);
    const consented = (await ch.rows<{ customer_id: string }>('SELECT customer_id FROM customers_consented')).map((r) => r.customer_id);
    expect(consented).toContain(ALICE.id);
    expect(consented).not.toContain('cust-carol');
    const [counts] = await ch.rows<{ resolved: string; consented: string; carol: string }>(
      `SELECT (SELECT count() FROM events_resolved) AS resolved, (SELECT count() FROM events_consented) AS consented,
              (SELECT count() FROM events_resolved WHERE resolved_customer_id = 'cust-carol') AS carol`,
    );
    expect(Number(counts!.carol)).toBe(2);
    expect(Number(counts!.consented)).toBe(Number(counts!.resolved) - 2);
    const [f] = await ch.rows<{ consent: number }>(`SELECT consent FROM customer_features WHERE customer_id = 'cust-carol'`);
    expect(Number(f!.consent)).toBe(0);
  });
});

describe('export and erasure', () => {
  it('exports everything held about a customer, PII decrypted, for admins only', async () => {
    expect((await shop.as('analyst', { method: 'GET', url: `/v1/customers/${ALICE.id}/export` })).statusCode).toBe(403);
    const res = await shop.as('admin', { method: 'GET', url: `/v1/customers/${ALICE.id}/export` });
    expect(res.statusCode, res.body).toBe(200);
    const data = res.json();
    expect(data.ids.anonymous.sort()).toEqual(['anon-alice-1', 'anon-alice-2']);
    expect(data.tables.events).toHaveLength(9);
    expect(data.tables.customers[0].traits.email).toBe(ALICE.email);
    expect(data.tables.order_items.length).toBe(3);
    expect(data.tables.rfm_scores.length).toBeGreaterThan(0);
    expect(data.tables.events_rejected).toHaveLength(1);
  });

  it('erases the customer from every table that names a person, including one created after the code', async () => {
    const ch = shop.rt.deps.ch;
    const ids = [ALICE.id, ALICE.anon, 'anon-alice-2'];
    // A table another module might add one day: found through the catalogue, not a list.
    await ch.exec(`CREATE TABLE IF NOT EXISTS later_feature (customer_id String, anonymous_id String, note String) ENGINE = MergeTree ORDER BY customer_id`);
    await ch.insert('later_feature', [
      { customer_id: ALICE.id, anonymous_id: '', note: 'hers' },
      { customer_id: '', anonymous_id: 'anon-alice-2', note: 'her device' },
      { customer_id: 'C00001', anonymous_id: 'a_other', note: 'someone else' },
    ]);
    await ch.insert('shop_carts', [{ cart_id: 'cart-alice', customer_id: '', anonymous_id: ALICE.anon, items: '[]', updated_at: chTime(Date.now()) }]);

    const before = await rowsAbout(ids);
    for (const t of ['events', 'customers', 'identities', 'order_items', 'rfm_scores', 'sessions_agg', 'later_feature', 'shop_carts']) expect(before[t], t).toBeGreaterThan(0);
    expect(before.events_rejected_raw).toBe(1);
    const [other] = await ch.rows<{ n: string }>(`SELECT count() AS n FROM events WHERE customer_id = 'C00001'`);
    const scores = shop.rt.deps.services.scores;
    expect(scores.get('rfm', ALICE.id)).toBeDefined();

    expect((await shop.as('analyst', { method: 'DELETE', url: `/v1/customers/${ALICE.id}` })).statusCode).toBe(403);
    const res = await shop.as('admin', { method: 'DELETE', url: `/v1/customers/${ALICE.id}` });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.complete).toBe(true);
    expect(body.ids.anonymous_ids.sort()).toEqual(['anon-alice-1', 'anon-alice-2']);
    expect(body.erased.events).toBe(before.events);
    expect(body.erased.later_feature).toBe(2);
    expect(body.erased.events_rejected).toBe(1);
    expect(body.caches).toContain('scores');

    const after = await rowsAbout(ids);
    expect(Object.entries(after).filter(([, n]) => n > 0)).toEqual([]);
    // Nobody else lost anything.
    const [otherAfter] = await ch.rows<{ n: string }>(`SELECT count() AS n FROM events WHERE customer_id = 'C00001'`);
    expect(otherAfter!.n).toBe(other!.n);
    const [kept] = await ch.rows<{ n: string }>(`SELECT count() AS n FROM later_feature`);
    expect(Number(kept!.n)).toBe(1);

    // Nothing served from memory either.
    expect(scores.get('rfm', ALICE.id)).toBeUndefined();
    for (const role of ['storefront', 'analyst', 'admin'] as const) expect((await shop.as(role, { method: 'GET', url: `/v1/customers/${ALICE.id}` })).statusCode).toBe(404);
    expect((await shop.as('admin', { method: 'GET', url: `/v1/customers/${ALICE.id}/export` })).statusCode).toBe(404);

    // The audit log records the erasure under a hash of the id, not the id.
    const audit = await ch.rows<{ action: string; target: string; detail: string }>(`SELECT action, target, detail FROM audit_log WHERE action IN ('erase', 'export') ORDER BY at`);
    const erase = audit.find((a) => a.action === 'erase')!;
    expect(erase.target).toBe(`sha256:${crypto.createHash('sha256').update(ALICE.id).digest('hex')}`);
    expect(JSON.parse(erase.detail).erased.events).toBe(before.events);
    expect(JSON.stringify(audit)).not.toContain(ALICE.id);
  });
});
