// The recs job on chDB with a few hundred synthetic events, checked against an independent
// computation in TypeScript; then the store loading it (and swapping atomically under concurrent
// reads) and the routes answering from it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClickHouse, type ClickHouse } from '../lib/clickhouse.ts';
import { testConfig } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';
import { migrate } from '../lib/migrate.ts';
import { ModelRunner } from '../models/runner.ts';
import { RECS_DEFAULTS, recsJob } from '../models/recs/recs.job.ts';
import { RecsStore } from '../models/recs/store.ts';
import { fromRows } from '../models/recs/interactions.ts';
import { buildUserItem } from '../models/recs/matrix.ts';
import { itemSimilarity } from '../models/recs/similarity.ts';
import recommendationsRoutes from '../api/recommendations.routes.ts';
import { buildServices } from '../bin/services.ts';
import { openPiiServices } from '../lib/pii-services.ts';
import { systemClock } from '../lib/clock.ts';
import { DAY, shopRows, syntheticShop } from './fixtures/recs/synthetic-shop.ts';

const shop = syntheticShop(1);
const log = initLogging({ level: 'silent' });
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-'));
const ADMIN = 'sk_admin_recs_test';
const config = testConfig({ CVM_DATA_DIR: dataDir, CVM_ADMIN_KEY: ADMIN });
let ch: ClickHouse;
let runner: ModelRunner;
let runId: string;

beforeAll(async () => {
  ch = await connectClickHouse(config);
  await migrate(ch);
  const rows = shopRows(shop);
  await ch.insert('events', rows.events);
  await ch.insert('order_items', rows.orderItems);
  await ch.insert('identities', rows.identities);
  await ch.insert('products', rows.products);
  runner = new ModelRunner({ ch, config, log }).register(recsJob);
  const [run] = await runner.run('recs', new Date(shop.now));
  expect(run!.status).toBe('ok');
  runId = run!.runId;
});

afterAll(async () => {
  await ch?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const q = <T>(sql: string) => ch.rows<T>(sql, { run_id: runId });

describe('recs job', () => {
  it('writes every list under the run id, without unavailable products, and cleans its working table', async () => {
    expect(shop.events.length + shop.orderItems.length).toBeGreaterThan(300);
    for (const t of ['recs_similar', 'recs_bought_together', 'recs_personal', 'recs_popular', 'recs_history', 'recs_catalog']) {
      const [r] = await q<{ n: number }>(`SELECT count() AS n FROM ${t} WHERE run_id = {run_id:String}`);
      expect(Number(r!.n), t).toBeGreaterThan(0);
    }
    const targets = await q<{ id: string }>(`
      SELECT similar_id AS id FROM recs_similar WHERE run_id = {run_id:String}
      UNION ALL SELECT other_id FROM recs_bought_together WHERE run_id = {run_id:String}
      UNION ALL SELECT product_id FROM recs_personal WHERE run_id = {run_id:String}
      UNION ALL SELECT product_id FROM recs_popular WHERE run_id = {run_id:String}
      UNION ALL SELECT product_id FROM recs_catalog WHERE run_id = {run_id:String}`);
    const seen = new Set(targets.map((t) => t.id));
    for (const gone of shop.unavailable) expect(seen.has(gone), gone).toBe(false);
    expect(seen.has('lam-6')).toBe(true); // absent from products = available
    const actors = await q<{ actor_id: string }>(`SELECT actor_id FROM recs_history WHERE run_id = {run_id:String}`);
    expect(actors.map((a) => a.actor_id)).not.toContain('bot-1');
    // Linked anonymous ids fold into their customer (a-c1 browsed anonymously, then identified as c1);
    // visitors who never identified are actors of their own.
    expect(shop.events.some((e) => e.anonymous_id === 'a-c1' && e.customer_id === '')).toBe(true);
    expect(actors.map((a) => a.actor_id)).not.toContain('a-c1');
    expect(actors.map((a) => a.actor_id)).toContain('c1');
    expect(actors.map((a) => a.actor_id)).toContain('visitor-1');
    const [staged] = await ch.rows<{ n: number }>(`SELECT count() AS n FROM recs_interactions`);
    expect(Number(staged!.n)).toBe(0);
    const [run] = await ch.rows<{ metrics: string }>(`SELECT metrics FROM model_runs FINAL WHERE run_id = {run_id:String} AND status = 'ok'`, { run_id: runId });
    expect(JSON.parse(run!.metrics)).toMatchObject({ actors: actors.length });
  });

  // The same weighted interactions, computed from the generator's own records in TypeScript.
  function expected() {
    const link = new Map(shop.identities.map((i) => [i.anonymous_id, i.customer_id]));
    const w = RECS_DEFAULTS.weights;
    const rows: Array<[string, string, number, number]> = [];
    const customers = new Set<string>();
    for (const e of shop.events) {
      if (e.is_bot || (e.type !== 'product_view' && e.type !== 'add_to_cart')) continue;
      const actor = e.customer_id || link.get(e.anonymous_id) || e.anonymous_id;
      if (e.customer_id || link.has(e.anonymous_id)) customers.add(actor);
      rows.push([actor, e.product_id, e.ts, e.type === 'add_to_cart' ? w.cart : w.view]);
    }
    for (const o of shop.orderItems) {
      customers.add(o.customer_id);
      rows.push([o.customer_id, o.product_id, o.ts, w.purchase]);
    }
    const data = fromRows(rows);
    const m = buildUserItem(data, { halfLifeMs: RECS_DEFAULTS.halfLifeDays * DAY, now: shop.now });
    const sim = itemSimilarity(m, { kind: 'jaccard', weights: m.affinity, threshold: RECS_DEFAULTS.minCoActors, includeSelf: false });
    const unavailable = new Set(shop.unavailable);
    const simMap = new Map<string, number>();
    for (let i = 0; i < sim.n; i++) {
      for (let p = sim.indptr[i]!; p < sim.indptr[i + 1]!; p++) {
        const j = data.items.ids[sim.indices[p]!]!;
        if (!unavailable.has(j)) simMap.set(`${data.items.ids[i]}|${j}`, sim.values[p]!);
      }
    }
    const bought = new Set(shop.orderItems.map((o) => `${o.customer_id}|${o.product_id}`));
    const personal = new Map<string, number>();
    for (const c of customers) {
      const u = data.users.get(c)!;
      for (let e = m.indptr[u]!; e < m.indptr[u + 1]!; e++) {
        const i = data.items.ids[m.indices[e]!]!;
        for (const [key, s] of simMap) {
          const [a, b] = key.split('|') as [string, string];
          if (a !== i || bought.has(`${c}|${b}`)) continue;
          personal.set(`${c}|${b}`, (personal.get(`${c}|${b}`) ?? 0) + m.affinity[e]! * s);
        }
      }
    }
    return { simMap, personal };
  }

  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b));

  it('similar items match a weighted Jaccard computed independently, ranked by score', async () => {
    const { simMap } = expected();
    const rows = await q<{ product_id: string; similar_id: string; score: number; rank: number }>(
      `SELECT product_id, similar_id, score, rank FROM recs_similar WHERE run_id = {run_id:String} ORDER BY product_id, rank`,
    );
    expect(rows.length).toBe(simMap.size);
    for (const r of rows) {
      const want = simMap.get(`${r.product_id}|${r.similar_id}`);
      expect(want, `${r.product_id}→${r.similar_id}`).toBeDefined();
      expect(close(r.score, want!), `${r.product_id}→${r.similar_id}: ${r.score} vs ${want}`).toBe(true);
    }
    for (let k = 1; k < rows.length; k++) if (rows[k]!.product_id === rows[k - 1]!.product_id) expect(rows[k]!.score).toBeLessThanOrEqual(rows[k - 1]!.score);
  });

  it('personal lists are SAR scores (affinity × similarity) without bought items', async () => {
    const { personal } = expected();
    const rows = await q<{ customer_id: string; product_id: string; score: number }>(`SELECT customer_id, product_id, score FROM recs_personal WHERE run_id = {run_id:String}`);
    expect(rows.length).toBe(personal.size);
    for (const r of rows) expect(close(r.score, personal.get(`${r.customer_id}|${r.product_id}`) ?? NaN), `${r.customer_id}→${r.product_id}`).toBe(true);
  });

  it('bought-together ranks by lift = n_ij · N / (n_i · n_j) with confidence n_ij / n_i', async () => {
    const baskets = new Map<string, Set<string>>();
    for (const o of shop.orderItems) (baskets.get(o.order_id) ?? baskets.set(o.order_id, new Set()).get(o.order_id)!).add(o.product_id);
    const n = new Map<string, number>();
    const pair = new Map<string, number>();
    for (const items of baskets.values()) {
      for (const a of items) {
        n.set(a, (n.get(a) ?? 0) + 1);
        for (const b of items) if (a !== b) pair.set(`${a}|${b}`, (pair.get(`${a}|${b}`) ?? 0) + 1);
      }
    }
    const N = baskets.size;
    const rows = await q<{ product_id: string; other_id: string; lift: number; confidence: number; orders: number; rank: number }>(
      `SELECT product_id, other_id, lift, confidence, orders, rank FROM recs_bought_together WHERE run_id = {run_id:String} ORDER BY product_id, rank`,
    );
    const expectedPairs = [...pair].filter(([k, c]) => c >= RECS_DEFAULTS.minOrders && !shop.unavailable.includes(k.split('|')[1]!));
    expect(rows.length).toBe(expectedPairs.length);
    for (const r of rows) {
      const nij = pair.get(`${r.product_id}|${r.other_id}`)!;
      expect(r.orders).toBe(nij);
      expect(r.confidence).toBeCloseTo(nij / n.get(r.product_id)!, 9);
      expect(r.lift).toBeCloseTo((nij * N) / (n.get(r.product_id)! * n.get(r.other_id)!), 9);
    }
    for (let k = 1; k < rows.length; k++) if (rows[k]!.product_id === rows[k - 1]!.product_id) expect(rows[k]!.lift).toBeLessThanOrEqual(rows[k - 1]!.lift);
  });

  it('keeps only the current and the latest ok runs', async () => {
    for (let i = 0; i < 3; i++) await runner.run('recs', new Date(shop.now));
    const runs = await ch.rows<{ n: number }>(`SELECT uniqExact(run_id) AS n FROM recs_personal`);
    expect(Number(runs[0]!.n)).toBe(1 + RECS_DEFAULTS.keepRuns);
  });
});

describe('RecsStore on the job output', () => {
  it('loads the latest run and answers customers, linked and unknown visitors', async () => {
    const store = new RecsStore();
    const snap = await store.load(ch);
    const [latest] = await ch.rows<{ run_id: string }>(`SELECT run_id FROM model_runs FINAL WHERE model = 'recs' AND status = 'ok' ORDER BY finished_at DESC LIMIT 1`);
    expect(snap.runId).toBe(latest!.run_id);
    const c1 = store.recommend({ customerId: 'c1', limit: 10 });
    expect(c1.items.length).toBe(10);
    expect(c1.items[0]!.reason).toBe('for_you');
    const bought = new Set(shop.orderItems.filter((o) => o.customer_id === 'c1').map((o) => o.product_id));
    for (const i of c1.items) expect(bought.has(i.product_id)).toBe(false);
    // a-c1 was linked to c1: the same list.
    expect(store.recommend({ anonymousId: 'a-c1', limit: 10 }).items).toEqual(c1.items);
    const stranger = store.recommend({ anonymousId: 'somebody-new', limit: 5 });
    expect(stranger.items.length).toBe(5);
    for (const i of stranger.items) expect(['trending', 'popular_in:all']).toContain(i.reason);
    const visitor = store.recommend({ anonymousId: 'visitor-1', limit: 5 });
    expect(visitor.items[0]!.reason).toMatch(/^viewed_with:/);
    expect(store.boughtTogether('mug-1', 5).items.every((i) => i.reason === 'bought_with:mug-1')).toBe(true);
    expect(store.similar('tea-1', 5).items.length).toBe(5);
  });

  it('swaps atomically: reads during load() never see an empty or mixed state', async () => {
    const store = new RecsStore();
    await store.load(ch);
    const before = store.runId;
    // A newer run with different decay ("tomorrow"), so the lists really change.
    const [run] = await runner.run('recs', new Date(shop.now + DAY));
    const loading = store.load(ch);
    let done = false;
    void loading.then(() => (done = true));
    let reads = 0;
    const seen = new Set<string | null>();
    while (!done) {
      const a = store.recommend({ customerId: 'c2', limit: 10 });
      const b = store.similar('tea-1', 5);
      expect(a.items.length).toBe(10);
      expect(b.items.length).toBe(5);
      expect(a.runId).toBe(b.runId);
      seen.add(a.runId);
      reads++;
      await new Promise((r) => setImmediate(r));
    }
    await loading;
    expect(reads).toBeGreaterThan(0);
    expect(seen.has(before)).toBe(true);
    expect(store.runId).toBe(run!.runId);
    expect(store.recommend({ customerId: 'c2', limit: 10 }).items).toHaveLength(10);
    // Two loads at once run one after the other and end on the same run.
    const [x, y] = await Promise.all([store.load(ch), store.load(ch)]);
    expect(x.runId).toBe(run!.runId);
    expect(y.runId).toBe(run!.runId);
  });
});

describe('recommendation routes', () => {
  it('serve lists with a list_id, refuse bad parameters, and reload after a run', async () => {
    const listeners = runner.listenerCount('run');
    const wired = buildServices({ config, ch, log, clock: systemClock, services: await openPiiServices(ch, config, log) }, { models: runner, transformer: null, bulkTransformer: null });
    await wired.services.startApi();
    const deps = { config, ch, log, clock: systemClock, services: wired.services };
    const app = Fastify();
    app.addHook('onClose', () => wired.close());
    await app.register(recommendationsRoutes, { deps });
    await app.ready();
    const store = deps.services.recs;
    expect(store).toBeInstanceOf(RecsStore);

    const anonymous = await app.inject({ method: 'GET', url: '/v1/recommendations?customer_id=c3' });
    expect(anonymous.statusCode).toBe(401);
    const ok = await app.inject({ method: 'GET', url: '/v1/recommendations?customer_id=c3&limit=5', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(ok.statusCode).toBe(200);
    const body = ok.json() as { items: Array<{ product_id: string; score: number; reason: string }>; list_id: string };
    expect(body.items).toHaveLength(5);
    expect(body.list_id.startsWith(`${store.runId}.`)).toBe(true);
    expect(Object.keys(body.items[0]!)).toEqual(['product_id', 'score', 'reason']);

    const ctx = await app.inject({ method: 'GET', url: '/v1/recommendations?anonymous_id=new-visitor&context_product=mug-1&cart=tea-1,tea-2&limit=8', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(ctx.statusCode).toBe(200);
    const items = (ctx.json() as typeof body).items;
    for (const x of ['mug-1', 'tea-1', 'tea-2']) expect(items.map((i) => i.product_id)).not.toContain(x);
    expect(items[0]!.reason).toMatch(/^(bought_with|viewed_with):/);

    for (const [url, msg] of [
      ['/v1/recommendations?limit=0', /limit must be an integer from 1 to 50/],
      ['/v1/recommendations?limit=51', /limit/],
      ['/v1/recommendations?limit=ten', /limit/],
      ['/v1/recommendations?customerId=c1', /unknown parameter "customerId"/],
      ['/v1/recommendations?cart=a,,b', /cart/],
      ['/v1/recommendations?customer_id=c1&customer_id=c2', /more than once/],
      ['/v1/products/mug-1/similar?limit=100', /limit/],
    ] as const) {
      const r = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN}` } });
      expect(r.statusCode, url).toBe(400);
      expect(r.json(), url).toMatchObject({ error: 'bad_request', message: expect.stringMatching(msg) });
    }

    const bt = await app.inject({ method: 'GET', url: '/v1/products/tea-1/bought-together?limit=3', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(bt.statusCode).toBe(200);
    const btItems = (bt.json() as typeof body).items;
    expect(btItems.length).toBeGreaterThan(0);
    expect(btItems.every((i) => i.reason === 'bought_with:tea-1')).toBe(true);
    const sim = await app.inject({ method: 'GET', url: '/v1/products/tea-1/similar', headers: { authorization: `Bearer ${ADMIN}` } });
    expect((sim.json() as typeof body).items.length).toBeGreaterThan(0);
    const none = await app.inject({ method: 'GET', url: '/v1/products/no-such-product/bought-together', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(none.json()).toMatchObject({ items: [] });

    // A finished run makes the store reload by itself.
    const before = store.runId;
    const [run] = await runner.run('recs', new Date(shop.now + 2 * DAY));
    for (let i = 0; i < 100 && store.runId === before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(store.runId).toBe(run!.runId);
    expect(runner.listenerCount('run')).toBeGreaterThan(listeners);
    await app.close();
    expect(runner.listenerCount('run')).toBe(listeners);
  });
});
