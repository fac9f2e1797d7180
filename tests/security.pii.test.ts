// PII at rest, tried as someone holding a copy of the data directory: a member's e-mail and name, and the
// traits of an identify (also one that ended in the dead letter) must not be readable in any file; the
// event log holds sealed records only; a subject's destroyed key makes their log records unreadable; and
// `cvm keys rotate-encryption` leaves everything readable with the new key alone.
import crypto from 'node:crypto';
import { identitySecrets } from '../ingest/identity.ts';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForDrain } from '../bin/runtime.ts';
import { rotateEncryptionKey } from '../bin/commands/keys-encryption.ts';
import { initLogging } from '../lib/logger.ts';
import { EmbeddedEventLog } from '../lib/eventlog/embedded.ts';
import { SealedEventLog } from '../lib/eventlog/sealed.ts';
import { SubjectKeys } from '../lib/subject-keys.ts';
import type { StoredRecord } from '../lib/eventlog/types.ts';
import { newKey } from './api.fixture.ts';
import { tempDir, testRuntime, WRITE } from './helpers/runtime.ts';
import { purchase, signedBatch } from './helpers/events.ts';
import { shopFor } from '../storefront/shop.ts';

type Rt = Awaited<ReturnType<typeof testRuntime>>;
let rt: Rt;
const tag = crypto.randomBytes(5).toString('hex');
const EMAIL = `pia.${tag}@pii.example`;
const NAME = `Pia Z${tag}q Private`;
const PHONE = `+49 30 ${parseInt(tag.slice(0, 6), 16) % 10_000_000}`;
const PASSWORD = 'a long enough password';

function* filesUnder(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* filesUnder(p);
    else if (e.isFile()) yield p;
  }
}

function filesMentioning(dir: string, needles: string[]): Array<{ file: string; needle: string }> {
  const hits: Array<{ file: string; needle: string }> = [];
  for (const file of filesUnder(dir)) {
    const bytes = fs.readFileSync(file);
    for (const n of needles) if (bytes.includes(Buffer.from(n)) || bytes.includes(Buffer.from(n.toLowerCase()))) hits.push({ file: path.relative(dir, file), needle: n });
  }
  return hits;
}

let customerId = '';

beforeAll(async () => {
  rt = await testRuntime();
  await shopFor(rt.deps);
  const signup = await rt.app!.inject({ method: 'POST', url: '/shop/api/signup', payload: { email: EMAIL, name: NAME, password: PASSWORD } });
  expect(signup.statusCode, signup.body).toBe(201);
  const cookie = ([] as string[]).concat((signup.headers['set-cookie'] as string[] | string) ?? []).map((c) => c.split(';')[0]).join('; ');
  customerId = (await rt.app!.inject({ url: '/shop/api/me', headers: { cookie } })).json().customer_id;
  const batch = [
    { event_id: crypto.randomUUID(), type: 'identify', ts: new Date().toISOString(), customer_id: customerId, anonymous_id: `anon-${tag}`, traits: { email: EMAIL, name: NAME, phone: PHONE } },
    // A dead letter (no rate for XTS) that carries the traits.
    { ...purchase(customerId, new Date(), 9, { currency: 'XTS' }), traits: { email: EMAIL, name: NAME, phone: PHONE } },
  ];
  const res = await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE }, payload: { batch: signedBatch(identitySecrets(rt.deps.config), rt.deps.config.keys.demoSite, batch) } });
  expect(res.statusCode, res.body).toBe(200);
  expect(await waitForDrain(rt, 60_000)).toBe(true);
}, 120_000);

afterAll(async () => {
  await rt?.close();
});

describe('PII at rest', () => {
  it('keeps e-mail, name and phone out of every file: members, profiles, dead letters and the log', async () => {
    const ch = rt.deps.ch;
    // The data is there (opened by the API for an admin) ...
    const admin = await newKey(rt, 'admin');
    const exported = await rt.app!.inject({ url: `/v1/customers/${customerId}/export`, headers: { authorization: `Bearer ${admin}` } });
    expect(exported.statusCode).toBe(200);
    for (const v of [EMAIL, NAME, PHONE]) expect(exported.body).toContain(v);
    const [dead] = await ch.rows<{ raw: string }>(`SELECT raw FROM events_rejected WHERE position(raw, {c:String}) > 0`, { c: customerId });
    expect(dead!.raw).toContain('"traits"');
    const [member] = await ch.rows<{ email: string; name: string }>(`SELECT email, name FROM shop_members FINAL WHERE customer_id = {c:String}`, { c: customerId });
    expect(member!.email).toMatch(/^enc:v1:/);
    expect(member!.name).toMatch(/^enc:v1:/);
    // ... and no table, read back decompressed, holds it in clear ...
    const tables = await ch.rows<{ name: string }>(`SELECT name FROM system.tables WHERE database = currentDatabase() AND engine NOT LIKE '%View'`);
    for (const t of tables) {
      const [r] = await ch.rows<{ n: string }>(
        `SELECT count() AS n FROM {t:Identifier} WHERE multiSearchAnyCaseInsensitive(toString(tuple(*)), {v:Array(String)})`,
        { t: t.name, v: [EMAIL, NAME, PHONE] },
      );
      expect(Number(r!.n), t.name).toBe(0);
    }
    // ... nor any file under the data directory (parts, the log, key files).
    expect(filesMentioning(rt.dir, [EMAIL, NAME, PHONE])).toEqual([]);
    // The log holds sealed records keyed by pseudonyms: not even the customer id is in it.
    expect(filesMentioning(path.join(rt.dir, 'log'), [customerId])).toEqual([]);
  });

  it('rotates the encryption key: re-wrapped data keys, the old key opens nothing, the new one everything', async () => {
    const keyFile = path.join(rt.dir, 'encryption.key');
    const oldKey = Buffer.from(fs.readFileSync(keyFile, 'utf8').trim(), 'hex');
    const wrappedBefore = (await rt.deps.ch.rows<{ wrapped: string }>(`SELECT wrapped FROM subject_keys`)).map((r) => r.wrapped);
    expect(wrappedBefore.length).toBeGreaterThan(2);
    const config = rt.deps.config;
    await rt.close();

    const out: string[] = [];
    const { rewrapped } = await rotateEncryptionKey({ config, log: initLogging({ level: 'silent' }), out: (l) => out.push(l) });
    expect(rewrapped).toBe(wrappedBefore.length);
    const newKeyHex = fs.readFileSync(keyFile, 'utf8').trim();
    expect(newKeyHex).not.toBe(oldKey.toString('hex'));
    // No key wrapped under the old KEK is left in any file (outdated parts cleared).
    expect(filesMentioning(rt.dir, wrappedBefore.map((w) => w.slice(4, 40)))).toEqual([]);

    rt = await testRuntime({ CVM_DATA_DIR: rt.dir });
    await expect(SubjectKeys.open(rt.deps.ch, oldKey)).rejects.toThrow(/do not open/);
    // Everything opens with the new key alone: the profile's traits, the member's login.
    const admin = await newKey(rt, 'admin');
    const exported = await rt.app!.inject({ url: `/v1/customers/${customerId}/export`, headers: { authorization: `Bearer ${admin}` } });
    expect(exported.statusCode).toBe(200);
    expect(exported.body).toContain(EMAIL);
    await shopFor(rt.deps);
    expect((await rt.app!.inject({ method: 'POST', url: '/shop/api/login', payload: { email: EMAIL, password: PASSWORD } })).statusCode).toBe(200);
  }, 120_000);
});

describe('sealed event log', () => {
  it('holds no id or payload in clear, and a destroyed key makes a subject unreadable and removes their records', async () => {
    const dir = tempDir('cvm-sealed-');
    const log = initLogging({ level: 'silent' });
    // The control: the plain embedded log keeps ids and payloads in clear in data.mdb.
    const plain = await EmbeddedEventLog.open({ dir: path.join(dir, 'plain'), maxBytes: 64 * 1024 * 1024, retentionMs: 3600_000, log });
    await plain.append('t', [{ key: 'cus_plain_visible', value: JSON.stringify({ email: EMAIL }) }]);
    await plain.close();
    expect(filesMentioning(path.join(dir, 'plain'), ['cus_plain_visible', EMAIL]).length).toBeGreaterThan(0);

    const inner = await EmbeddedEventLog.open({ dir: path.join(dir, 'sealed'), maxBytes: 64 * 1024 * 1024, retentionMs: 3600_000, log });
    const sealed = new SealedEventLog(inner, rt.deps.services.subjectKeys!);
    const gone = `cus_gone_${tag}`;
    const kept = `cus_kept_${tag}`;
    await sealed.append('t', [
      { key: gone, value: JSON.stringify({ who: gone, email: EMAIL }) },
      { key: kept, value: JSON.stringify({ who: kept }) },
      { key: gone, value: JSON.stringify({ who: gone, n: 2 }) },
    ]);
    expect(filesMentioning(path.join(dir, 'sealed'), [gone, kept, EMAIL])).toEqual([]);

    // A second copy of the raw records (as Kafka replicas or a backup would keep), read after erasure.
    const copy: StoredRecord[] = [];
    const c1 = await inner.consume({ topic: 't', group: 'copy', maxWaitMs: 10, handler: async (b) => void copy.push(...b.records) });
    while (copy.length < 3) await new Promise((r) => setTimeout(r, 20));
    await c1.stop();

    expect(await sealed.forget(['t'], [gone])).toBe(2);
    const seen: string[] = [];
    const c2 = await sealed.consume({ topic: 't', group: 'after', maxWaitMs: 10, handler: async (b) => void seen.push(...b.records.map((r) => r.value)) });
    while (seen.length < 1) await new Promise((r) => setTimeout(r, 20));
    await c2.stop();
    expect(seen.map((v) => JSON.parse(v).who)).toEqual([kept]);

    // The copy taken before erasure no longer opens: its key is gone (crypto-shredding).
    const replayed: string[] = [];
    const fake = { kind: 'embedded' as const, append: async () => {}, lag: async () => [], close: async () => {}, consume: async (o: Parameters<typeof inner.consume>[0]) => {
      await o.handler({ topic: 't', partition: 0, firstOffset: 0, lastOffset: 2, records: copy });
      return { stop: async () => {} };
    } };
    await new SealedEventLog(fake, rt.deps.services.subjectKeys!).consume({ topic: 't', group: 'g', handler: async (b) => void replayed.push(...b.records.map((r) => JSON.parse(r.value).who as string)) });
    expect(replayed).toEqual([kept]);
    await sealed.close();
  });
});
