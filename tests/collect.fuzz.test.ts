// Property tests on the collector: random and hostile payloads never crash it, always get a clear 4xx
// for the bad part (with the index, field and reason), and never lose the good events of the same batch.
import crypto from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_NOW, WRITE, testRuntime } from './helpers/runtime.ts';
import { waitForDrain, type Runtime } from '../bin/runtime.ts';

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime({ CVM_RATE_LIMIT_PER_MINUTE: '10000000' });
});
afterAll(async () => {
  await rt?.close();
});

const goodEvent = () =>
  fc.record({
    type: fc.constantFrom('page_view', 'product_view', 'search', 'add_to_cart'),
    anon: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim().length > 0),
    product: fc.string({ minLength: 1, maxLength: 60 }),
    price: fc.double({ min: 0, max: 1e6, noNaN: true }),
  }).map(({ type, anon, product, price }) => {
    const properties: Record<string, unknown> =
      type === 'search' ? { query: product } : type === 'page_view' ? {} : { product_id: product, price, currency: 'EUR' };
    return { event_id: crypto.randomUUID(), type, ts: new Date(FIXTURE_NOW).toISOString(), anonymous_id: anon, properties };
  });

const hostileValue = fc.oneof(
  fc.string({ maxLength: 3000 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant('\u0000\ud800\uffff'),
  fc.constant('9'.repeat(400)),
  fc.letrec((tie) => ({ deep: fc.oneof({ depthSize: 'small' }, fc.constant(1), fc.array(tie('deep'), { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 5 }), tie('deep'), { maxKeys: 2 })) })).deep,
);

/** The event with a key JSON.parse keeps as an own property (what a hostile client's JSON gives us). */
function withRawKey(e: object, keyJson: string): unknown {
  const text = JSON.stringify(e).replace(/"properties":\{(\}?)/, (_m, close: string) => `"properties":{${keyJson}${close ? '}' : ','}`);
  return JSON.parse(text);
}

const badEvent = () =>
  fc.oneof(
    goodEvent().chain((e) => fc.record({ k: fc.constantFrom('event_id', 'type', 'ts', 'anonymous_id', 'properties', 'context'), v: hostileValue }).map(({ k, v }) => ({ ...e, [k]: v }))),
    goodEvent().map((e) => ({ ...e, event_id: 'not-a-uuid' })),
    goodEvent().map((e) => ({ ...e, ts: '2999-12-31T00:00:00Z' })),
    goodEvent().map((e) => withRawKey(e, '"__proto__":{"polluted":1}')),
    goodEvent().map((e) => withRawKey(e, '"constructor":{"prototype":{"x":1}}')),
    goodEvent().map((e) => {
      let deep: unknown = 'x';
      for (let i = 0; i < 30; i++) deep = { d: deep };
      return { ...e, properties: { deep } };
    }),
    hostileValue,
  );

describe('collector under random and hostile input', () => {
  it('never crashes, names each bad event, and keeps every good one', async () => {
    const acceptedIds = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.boolean(), goodEvent(), badEvent()), { minLength: 1, maxLength: 30 }), async (rows) => {
        const batch = rows.map(([good, g, b]) => (good ? g : b));
        const res = await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE, 'content-type': 'application/json' }, payload: JSON.stringify({ batch }) });
        expect([200, 400, 413]).toContain(res.statusCode);
        const body = res.json();
        if (res.statusCode === 413) return; // a hostile string pushed the body over 500 KB: nothing accepted, clearly said
        const rejectedIdx = new Set<number>(body.rejected.map((r: { index: number }) => r.index));
        for (const r of body.rejected) {
          expect(typeof r.field).toBe('string');
          expect(r.reason.length).toBeGreaterThan(0);
        }
        rows.forEach(([good, g], i) => {
          if (good) {
            expect(rejectedIdx.has(i)).toBe(false);
            acceptedIds.add(g.event_id);
          }
        });
        expect(body.accepted).toBe(batch.length - rejectedIdx.size);
      }),
      { numRuns: 60 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await waitForDrain(rt, 60_000)).toBe(true);
    const stored = new Set((await rt.deps.ch.rows<{ id: string }>('SELECT toString(event_id) AS id FROM events')).map((r) => r.id));
    const missing = [...acceptedIds].filter((id) => !stored.has(id));
    if (missing.length) console.log('missing', missing.slice(0, 3), await rt.deps.ch.rows('SELECT event_id, field, reason, raw FROM events_rejected WHERE event_id IN {ids:Array(String)} LIMIT 3', { ids: missing }));
    expect(missing).toEqual([]);
    const health = await rt.app!.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
  }, 120_000);

  it('arbitrary bodies never get a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 2000 }), fc.json(), fc.string({ unit: 'binary', maxLength: 500 })), fc.constantFrom('application/json', 'text/plain'), async (payload, type) => {
        const res = await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE, 'content-type': type }, payload });
        expect(res.statusCode).toBeGreaterThanOrEqual(200);
        expect(res.statusCode).toBeLessThan(500);
        if (res.statusCode >= 400) expect(res.json().error).toBeTruthy();
      }),
      { numRuns: 150 },
    );
  });
});

describe('strings ClickHouse cannot store as sent', () => {
  it('lone surrogates and control characters neither block the transformer nor get lost', async () => {
    const ids: string[] = [];
    for (const v of ['\ud800', 'a\udc00b', '\u0000x', '\uffff']) {
      const e = { event_id: crypto.randomUUID(), type: 'product_view', ts: new Date(FIXTURE_NOW).toISOString(), anonymous_id: `x${v}`, properties: { product_id: v, category: v, price: 1, currency: 'EUR' }, context: { url: v, title: v } };
      ids.push(e.event_id);
      const res = await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE, 'content-type': 'application/json' }, payload: JSON.stringify({ batch: [e] }) });
      expect(res.statusCode).toBe(200);
    }
    expect(await waitForDrain(rt, 20_000)).toBe(true);
    const [row] = await rt.deps.ch.rows<{ n: string }>('SELECT count() AS n FROM events WHERE toString(event_id) IN {ids:Array(String)}', { ids });
    expect(Number(row!.n)).toBe(4);
  });
});
