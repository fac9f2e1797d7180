// `cvm demo traffic` against a listening cvm: simulated shoppers through the shop's pages, the collector
// and the real checkout. Everything they did must arrive as valid events and real orders, at simulated
// times inside the requested window, and be consistent between the shop's order book and the events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, tempDir } from './helpers/runtime.ts';
import { startRuntime, waitForDrain, type Runtime } from '../bin/runtime.ts';
import { testConfig } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';
import { appendDemoHistory, loadCatalogue } from '../storefront/demo/load.ts';
import { shopFor } from '../storefront/shop.ts';
import { simulateTraffic, type TrafficReport } from '../storefront/demo/traffic.ts';
import { run as demoTraffic } from '../bin/commands/demo-traffic.ts';

const DAYS = 20;
let rt: Runtime;
let report: TrafficReport;
let end: number;

beforeAll(async () => {
  const config = testConfig({ CVM_DATA_DIR: tempDir(), CVM_ADMIN_KEY: ADMIN, PORT: '0', CVM_TRANSFORM_FLUSH_MS: '100', CVM_RATE_LIMIT_PER_MINUTE: '1000000' });
  rt = await startRuntime(config, initLogging({ level: 'silent' }), { collector: true, transformer: true, scheduler: false, api: true }, { listen: true });
  await loadCatalogue(rt.deps.ch);
  // A little history first, so the shelves have recommendations to show and to be clicked.
  // Real time on purpose: the shop stamps its own events with the wall clock, so history ends at the runtime's now.
  await appendDemoHistory(rt.eventLog!, rt.deps.config, { customers: 40, days: 60 }, rt.models.clock.now());
  expect(await waitForDrain(rt, 60_000)).toBe(true);
  await rt.models.run('recs');
  await rt.deps.services.recs.load(rt.deps.ch);
  await (await shopFor(rt.deps)).refreshCatalogue(true);
  end = rt.models.clock.now();
  report = await simulateTraffic({ url: rt.url!, adminKey: ADMIN, writeKey: config.keys.demoWrite, visitors: 40, days: DAYS, end, seed: 99, concurrency: 4 });
  console.log(`demo traffic: ${report.visitors} visitors, ${report.events} events, ${report.orders} orders in ${report.seconds.toFixed(1)} s (${(report.visitors / report.seconds).toFixed(1)} visitors/s, ${(report.events / report.seconds).toFixed(0)} events/s)`);
  expect(await waitForDrain(rt, 60_000)).toBe(true);
}, 240_000);

afterAll(async () => {
  await rt?.close();
});

describe('simulated traffic', () => {
  it('browses, searches, signs up and buys without a single error or rejected event', async () => {
    expect(report).toMatchObject({ visitors: 40, errors: 0 });
    expect(report.sessions).toBeGreaterThan(40);
    expect(report.searches).toBeGreaterThan(0);
    expect(report.signups).toBeGreaterThan(0);
    expect(report.paid).toBeGreaterThan(0);
    expect(report.shipped).toBeGreaterThan(0);
    const [rejected] = await rt.deps.ch.rows<{ n: string }>('SELECT count() AS n FROM events_rejected');
    expect(Number(rejected!.n)).toBe(0);
  });

  it('lands every kind of event a shop sends, at simulated times inside the window', async () => {
    const rows = await rt.deps.ch.rows<{ type: string; n: string; first: string; last: string; sources: string[] }>(
      `SELECT type, count() AS n, toUnixTimestamp64Milli(min(ts)) AS first, toUnixTimestamp64Milli(max(ts)) AS last
       FROM events FINAL WHERE received_at >= {since:DateTime64(3)} AND ts > {start:DateTime64(3)} GROUP BY type`,
      { since: new Date(end - 1000).toISOString().replace('T', ' ').replace('Z', ''), start: new Date(end - DAYS * 86_400_000 - 60_000).toISOString().replace('T', ' ').replace('Z', '') },
    );
    const byType = Object.fromEntries(rows.map((r) => [r.type, r]));
    for (const t of ['page_view', 'product_view', 'search', 'add_to_cart', 'checkout_started', 'identify', 'purchase', 'rec_impression']) {
      expect(Number(byType[t]?.n ?? 0), t).toBeGreaterThan(0);
    }
    expect(Number(byType.page_view!.n)).toBe(report.pages); // one page view per page served
    // Spread over the simulated days, not all "now".
    expect(Number(byType.page_view!.last) - Number(byType.page_view!.first)).toBeGreaterThan((DAYS / 2) * 86_400_000);
    expect(Number(byType.purchase!.n)).toBe(report.paid);
  });

  it('keeps the order book and the events in agreement', async () => {
    const states = Object.fromEntries(
      (await rt.deps.ch.rows<{ state: string; n: string }>('SELECT state, count() AS n FROM orders FINAL GROUP BY state')).map((r) => [r.state, Number(r.n)]),
    );
    const total = Object.values(states).reduce((a, b) => a + b, 0);
    expect(total).toBe(report.orders);
    expect(states.delivered ?? 0).toBe(report.delivered - report.refunded);
    // Orders paid through the checkout have a purchase event with the same total, charged in USD.
    const [mismatch] = await rt.deps.ch.rows<{ n: string }>(
      `SELECT count() AS n FROM (SELECT order_id, total FROM orders FINAL WHERE state IN ('paid', 'shipped', 'delivered')) AS o
       LEFT JOIN (SELECT order_id, any(amount_base) AS paid FROM events FINAL WHERE type = 'purchase' GROUP BY order_id) AS e USING (order_id)
       WHERE abs(e.paid - o.total) > 1e-6`,
    );
    expect(Number(mismatch!.n)).toBe(0);
    // Members' browsing before sign-up is linked to them.
    const [linked] = await rt.deps.ch.rows<{ n: string }>("SELECT uniqExact(customer_id) AS n FROM identities FINAL WHERE customer_id LIKE 'cus_%'");
    expect(Number(linked!.n)).toBe(report.signups);
  });

  it('gives the models the new customers', async () => {
    const [run] = await rt.models.run('rfm');
    expect(run!.status).toBe('ok');
    const [n] = await rt.deps.ch.rows<{ n: string }>("SELECT count() AS n FROM rfm_scores WHERE run_id = {r:String} AND customer_id LIKE 'cus_%'", { r: run!.runId });
    expect(Number(n!.n)).toBeGreaterThan(0);
  });

  it('runs as `cvm demo traffic` and says what it did', async () => {
    const out: string[] = [];
    const config = testConfig({ CVM_ADMIN_KEY: ADMIN, CVM_DATA_DIR: tempDir() });
    const code = await demoTraffic(['--visitors', '5', '--days', '3', '--url', rt.url!, '--json'], { config, log: initLogging({ level: 'silent' }), out: (l) => out.push(l) });
    expect(code).toBe(0);
    expect(JSON.parse(out[0]!)).toMatchObject({ visitors: 5, errors: 0 });
    await expect(demoTraffic(['--visitors', '1', '--url', 'http://127.0.0.1:9'], { config, log: initLogging({ level: 'silent' }), out: () => {} })).rejects.toThrow(/nothing answers at/);
  });
});
