// The scheduled CLV job on chDB: synthetic purchase events in `events`, run through ModelRunner, scores
// read back from clv_scores for the latest ok run.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chTime, connectClickHouse, type ClickHouse } from '../lib/clickhouse.ts';
import { testConfig } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';
import { migrate } from '../lib/migrate.ts';
import { clvJob } from '../models/clv/clv.job.ts';
import { simulateCustomers } from '../models/clv/simulate.ts';
import { latestRunId, ModelRunner } from '../models/runner.ts';

const DAY = 86_400_000;
const NOW = new Date('2024-07-01T12:00:00Z');

let dir: string;
let ch: ClickHouse;
let runner: ModelRunner;

function purchase(customer: string, at: number, amount: number, order: string = crypto.randomUUID(), extra: Record<string, unknown> = {}) {
  return {
    event_id: crypto.randomUUID(),
    type: 'purchase',
    ts: chTime(at),
    received_at: chTime(at),
    site: 'demo',
    anonymous_id: `anon-${customer}`,
    customer_id: customer,
    currency: 'USD',
    amount,
    amount_base: amount,
    order_id: order,
    is_bot: 0,
    ...extra,
  };
}

interface Score {
  customer_id: string;
  frequency: number;
  recency_weeks: number;
  T_weeks: number;
  monetary: number;
  p_alive: number;
  expected_purchases: number;
  expected_spend: number;
  clv: number;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-'));
  const config = testConfig({ CVM_DATA_DIR: dir });
  ch = await connectClickHouse(config);
  await migrate(ch);
  runner = new ModelRunner({ ch, config, log: initLogging({ level: 'silent' }) }).register(clvJob);
});

afterAll(async () => {
  await ch?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('clv job', () => {
  it('fails with a clear message only when nobody bought twice', async () => {
    await ch.insert('events', Array.from({ length: 10 }, (_, i) => purchase(`solo-${i}`, NOW.getTime() - (100 + i) * DAY, 20 + i)));
    const [rec] = await runner.run('clv', NOW);
    expect(rec?.status).toBe('failed');
    expect(rec?.error).toMatch(/no repeat buyers at all among 10 customers/);
    expect(await latestRunId(ch, 'clv')).toBeNull();
  });

  it('a shop with too few repeat buyers for a plain fit is fitted with a penalty, flagged, and everyone scored', async () => {
    const few = [];
    for (let i = 0; i < 10; i++) {
      few.push(purchase(`few-${i}`, NOW.getTime() - 100 * DAY, 20), purchase(`few-${i}`, NOW.getTime() - 50 * DAY, 25));
    }
    await ch.insert('events', few);
    const [rec] = await runner.run('clv', NOW);
    expect(rec?.error).toBeUndefined();
    expect(rec?.status).toBe('ok');
    const m = rec!.metrics as { fit: string; bgnbd: { fit: { mode: string; penalty: number; reason: string } }; gammagamma: { fit: { mode: string; reason: string } } };
    expect(m.fit).toBe('penalised');
    expect(m.bgnbd.fit.mode).toBe('penalised');
    expect(m.bgnbd.fit.penalty).toBeGreaterThan(0);
    expect(m.bgnbd.fit.reason).toMatch(/only 10 repeat buyers \(a plain fit needs 20\)/);
    expect(m.gammagamma.fit.reason).toMatch(/only 10 repeat buyers with a positive spend/);
    // The flag is stored with the run, where the dashboards' pipeline page reads it.
    const [stored] = await ch.rows<{ metrics: string }>(`SELECT metrics FROM model_runs FINAL WHERE run_id = {r:String}`, { r: rec!.runId });
    expect(JSON.parse(stored!.metrics).fit).toBe('penalised');
    const rows = await ch.rows<Score>('SELECT * FROM clv_scores WHERE run_id = {run:String}', { run: rec!.runId });
    expect(rows).toHaveLength(20);
    for (const r of rows) {
      expect(Number.isFinite(r.clv) && r.clv >= 0, `${r.customer_id}: clv ${r.clv}`).toBe(true);
      expect(r.p_alive).toBeGreaterThan(0);
      expect(r.p_alive).toBeLessThanOrEqual(1);
    }
  });

  it('fits on a few hundred purchases and writes sensible scores for the latest ok run', async () => {
    const now = NOW.getTime();
    const events: object[] = [];
    // Customers drawn from the models' own processes, in weeks, first purchases over the last year.
    const sim = simulateCustomers({ r: 0.7, alpha: 6, a: 0.8, b: 4 }, { p: 4, q: 5, gamma: 120 }, Array.from({ length: 150 }, (_, i) => 4 + (i * 48) / 150), 11);
    sim.forEach((c, i) => {
      const first = now - c.T * 7 * DAY;
      c.times.forEach((t, k) => events.push(purchase(`sim-${i}`, first + t * 7 * DAY, Math.round(c.values[k]! * 100) / 100)));
    });
    // Hand-made customers with the same first purchase 52 weeks ago and 13 purchases each.
    const start = now - 364 * DAY;
    for (let k = 0; k < 13; k++) {
      events.push(purchase('loyal', start + k * 28 * DAY + 3_600_000, 40)); // every 4 weeks, last 28 days ago
      events.push(purchase('lapsed', start + k * 7 * DAY + 3_600_000, 40)); // weekly, stopped 39 weeks ago
    }
    events.push(purchase('one-timer', start + 3_600_000, 40));
    // A repeat order that was refunded in full is not a purchase; a partial refund lowers its value.
    events.push(purchase('refunder', start, 50, 'o-r1'), purchase('refunder', start + 10 * DAY, 30, 'o-r2'), purchase('refunder', start + 20 * DAY, 80, 'o-r3'));
    events.push({ ...purchase('refunder', start + 12 * DAY, 30, 'o-r2'), type: 'refund' });
    events.push({ ...purchase('refunder', start + 25 * DAY, 20, 'o-r3'), type: 'refund' });
    // The same order sent twice (two event ids) counts once; an anonymous purchase linked by identify counts for the customer.
    events.push(purchase('dup', start, 10, 'o-d1'), purchase('dup', start + 5 * DAY, 10, 'o-d2'), purchase('dup', start + 5 * DAY + 1000, 10, 'o-d2'));
    events.push(purchase('', start + 9 * DAY, 15, 'o-d3', { anonymous_id: 'anon-visitor-7' }));
    await ch.insert('identities', [{ anonymous_id: 'anon-visitor-7', customer_id: 'dup', site: 'demo', source: 'identify', first_seen: chTime(start) }]);
    // A bot's purchase is not counted.
    events.push(purchase('bot-buyer', start, 10, 'o-b1', { is_bot: 1 }), purchase('bot-buyer', start + DAY * 3, 10, 'o-b2', { is_bot: 1 }));
    await ch.insert('events', events);
    expect(events.length).toBeGreaterThan(300);

    const [rec] = await runner.run('clv', NOW);
    expect(rec?.error).toBeUndefined();
    expect(rec?.status).toBe('ok');
    const runId = await latestRunId(ch, 'clv');
    expect(runId).toBe(rec!.runId);

    const rows = await ch.rows<Score>('SELECT * FROM clv_scores WHERE run_id = {run:String} ORDER BY customer_id', { run: runId });
    // Everyone with a purchase, the one-time and the few repeat buyers of the earlier runs included.
    const customers = new Set(events.map((e) => (e as { customer_id: string }).customer_id).filter((c) => c !== '' && c !== 'bot-buyer'));
    for (let i = 0; i < 10; i++) customers.add(`few-${i}`).add(`solo-${i}`);
    expect(rows).toHaveLength(customers.size);
    expect(rec!.rowsWritten).toBe(customers.size);
    for (const r of rows) {
      expect(r.p_alive).toBeGreaterThanOrEqual(0);
      expect(r.p_alive).toBeLessThanOrEqual(1);
      expect(r.expected_purchases).toBeGreaterThanOrEqual(0);
      expect(r.expected_spend).toBeGreaterThan(0);
      expect(r.clv).toBeGreaterThanOrEqual(0);
      expect(r.recency_weeks).toBeLessThanOrEqual(r.T_weeks);
    }
    const by = new Map(rows.map((r) => [r.customer_id, r]));
    const loyal = by.get('loyal')!;
    const lapsed = by.get('lapsed')!;
    const once = by.get('one-timer')!;
    expect(loyal.frequency).toBe(12);
    expect(lapsed.frequency).toBe(12);
    expect(loyal.T_weeks).toBeCloseTo(52, 6);
    expect(loyal.recency_weeks).toBeCloseTo(48, 6);
    expect(loyal.p_alive).toBeGreaterThan(lapsed.p_alive);
    expect(loyal.expected_purchases).toBeGreaterThan(lapsed.expected_purchases);
    expect(loyal.clv).toBeGreaterThan(lapsed.clv);
    expect(loyal.clv).toBeGreaterThan(once.clv);
    expect(once.p_alive).toBe(1); // no repeat purchase yet: BG/NBD cannot have seen a dropout
    expect(by.get('refunder')).toMatchObject({ frequency: 1, monetary: 60 });
    expect(by.get('dup')).toMatchObject({ frequency: 2, monetary: 12.5 });
    expect(by.has('bot-buyer')).toBe(false);

    // Frequent recent buyers rank above infrequent lapsed ones. (Higher frequency alone is not enough in
    // BG/NBD: a heavy buyer who has gone quiet is more likely gone than a light one with the same gap.)
    const sims = rows.filter((r) => r.customer_id.startsWith('sim-'));
    const active = sims.filter((r) => r.frequency >= 3 && r.T_weeks - r.recency_weeks <= 4);
    const quiet = sims.filter((r) => r.frequency <= 1 && r.T_weeks - r.recency_weeks >= 20);
    expect(active.length).toBeGreaterThan(5);
    expect(quiet.length).toBeGreaterThan(5);
    for (const p of active) {
      for (const q of quiet) {
        expect(p.expected_purchases).toBeGreaterThan(q.expected_purchases);
        expect(p.clv).toBeGreaterThan(q.clv);
      }
    }

    const [run] = await ch.rows<{ metrics: string; params: string }>('SELECT metrics, params FROM model_runs FINAL WHERE run_id = {run:String}', { run: runId });
    const metrics = JSON.parse(run!.metrics);
    // Enough repeat buyers for the plain maximum: no penalty, and the run says so.
    expect(metrics.fit).toBe('plain');
    expect(metrics.bgnbd.fit).toEqual({ mode: 'plain', penalty: 0, reason: null });
    expect(metrics.bgnbd.r).toBeGreaterThan(0);
    expect(metrics.bgnbd.loglik).toBeLessThan(0);
    expect(metrics.gammagamma.q).toBeGreaterThan(1);
    expect(metrics.clv.p50).toBeLessThanOrEqual(metrics.clv.p90);
    expect(metrics.customers).toBe(customers.size);
    expect(JSON.parse(run!.params)).toMatchObject({ horizon_days: 365, discount_rate_annual: 0.1 });
  });
});
