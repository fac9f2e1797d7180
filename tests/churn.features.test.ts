import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chTime, connectClickHouse, type ClickHouse } from '../lib/clickhouse.ts';
import { testConfig } from '../lib/config.ts';
import { migrate } from '../lib/migrate.ts';
import { seededRandom } from '../models/churn/classifier.ts';
import { queryChurnFeatures } from '../models/churn/feature-query.ts';
import { TransactionLedger } from '../models/churn/transaction-features.ts';
import type { TxRow } from '../ingest/transactions/readers.ts';

const DAY = 86_400_000;
const CUTOFF_DAY = Date.UTC(2024, 5, 1) / DAY;
const LABEL_END_DAY = CUTOFF_DAY + 60;

let seq = 0;
function uuid(): string {
  return `00000000-0000-4000-8000-${(++seq).toString(16).padStart(12, '0')}`;
}

function event(customer: string, type: string, day: number, extra: Record<string, unknown> = {}) {
  const ts = chTime(day * DAY + (extra.offsetMs as number | undefined ?? 0));
  delete extra.offsetMs;
  return { event_id: uuid(), type, ts, received_at: ts, site: 't', customer_id: customer, currency: 'USD', ...extra };
}

describe('churn features: ClickHouse SQL vs transaction file', () => {
  let dir: string;
  let ch: ClickHouse;
  const tx: TxRow[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-'));
    ch = await connectClickHouse(testConfig({ CVM_DATA_DIR: dir }));
    await migrate(ch);
    // Purchase-only history at midnight, one order per day, refunds on days without a purchase: the case
    // where a transaction file and the event store describe the same thing.
    const rand = seededRandom(3);
    const events: Record<string, unknown>[] = [];
    for (let c = 0; c < 60; c++) {
      const id = `k${c}`;
      const days = new Set<number>();
      const n = 1 + Math.floor(rand() * 12);
      for (let k = 0; k < n; k++) days.add(CUTOFF_DAY - 400 + Math.floor(rand() * 470));
      for (const d of days) {
        const amount = Math.round(rand() * 10000) / 100;
        events.push(event(id, 'purchase', d, { order_id: `${id}-${d}`, amount, amount_base: amount }));
        tx.push({ customer: id, day: d, amount, purchase: true });
        if (rand() < 0.2 && !days.has(d + 3)) {
          const back = Math.round(amount * 50) / 100;
          events.push(event(id, 'refund', d + 3, { order_id: `${id}-${d}`, amount: back, amount_base: back }));
          tx.push({ customer: id, day: d + 3, amount: -back, purchase: false });
        }
      }
    }
    await ch.insert('events', events);
  });

  afterAll(async () => {
    await ch?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives the same figures from both sources', async () => {
    const fromSql = await queryChurnFeatures(ch, new Date(CUTOFF_DAY * DAY), new Date(LABEL_END_DAY * DAY));
    const ledger = await new TransactionLedger().addAll([tx]);
    const fromFile = ledger.features(CUTOFF_DAY, LABEL_END_DAY);
    expect(fromSql.length).toBeGreaterThan(30);
    expect(fromSql.map((r) => r.customer_id)).toEqual(fromFile.map((r) => r.customer_id));
    expect(fromSql.some((r) => r.churned === 1) && fromSql.some((r) => r.churned === 0)).toBe(true);
    expect(fromSql.some((r) => r.refund_count > 0)).toBe(true);
    fromSql.forEach((s, i) => {
      const f = fromFile[i]!;
      for (const key of Object.keys(f) as (keyof typeof f)[]) {
        if (key === 'customer_id') continue;
        expect(s[key] as number, `${s.customer_id}.${key}`).toBeCloseTo(f[key] as number, 6);
      }
    });
  });

  it('counts visits, abandoned carts, reviews and duplicate orders from behaviour events (hand-checked)', async () => {
    const d = CUTOFF_DAY;
    const h = 3_600_000;
    await ch.insert('events', [
      // Visit 1 (10 days ago): cart then purchase → not abandoned. The purchase event is sent twice.
      event('hand', 'add_to_cart', d - 10, { session_id: 's1', product_id: 'p1', price: 20 }),
      event('hand', 'purchase', d - 10, { session_id: 's1', order_id: 'o1', amount: 20, amount_base: 20, offsetMs: h }),
      event('hand', 'purchase', d - 10, { session_id: 's1', order_id: 'o1', amount: 20, amount_base: 20, offsetMs: h + 5000 }),
      // Visit 2 (50 days ago): cart, no purchase → abandoned, outside the 30-day visit window.
      event('hand', 'add_to_cart', d - 50, { session_id: 's2', product_id: 'p2', price: 30 }),
      // Visit 3 (100 days ago): purchase + a 2-star review; cart abandoned on visit 4 (120 days: outside 90).
      event('hand', 'purchase', d - 100, { session_id: 's3', order_id: 'o0', amount: 50, amount_base: 50 }),
      event('hand', 'review', d - 100, { session_id: 's3', product_id: 'p0', rating: 2, offsetMs: h }),
      event('hand', 'review', d - 99, { session_id: 's5', product_id: 'p1', rating: 5 }),
      event('hand', 'add_to_cart', d - 120, { session_id: 's4', product_id: 'p3', price: 5 }),
      event('hand', 'refund', d - 5, { session_id: 's6', order_id: 'o0', amount: 10, amount_base: 10 }),
      // After the cut-off: only the label sees these.
      event('hand', 'purchase', d + 2, { session_id: 's7', order_id: 'o2', amount: 70, amount_base: 70 }),
      event('hand', 'add_to_cart', d + 1, { session_id: 's8', product_id: 'p4', price: 5 }),
    ]);
    const rows = await queryChurnFeatures(ch, new Date(d * DAY), new Date((d + 30) * DAY));
    const r = rows.find((x) => x.customer_id === 'hand')!;
    expect(r).toMatchObject({
      frequency: 2, // o1 counted once
      purchase_days: 2,
      monetary: 60, // 20 + 50 − 10
      recency_days: 10 - 1 / 24, // last order at d − 10 days + 1 h
      ipt_mean_days: 90,
      ipt_std_days: 0,
      purchases_30d: 1,
      purchases_90d: 1,
      purchases_prev_90d: 1,
      spend_30d: 20,
      spend_prev_90d: 50,
      sessions_30d: 2, // s1 and the refund visit s6
      abandoned_carts_90d: 1, // s2 only
      review_count: 2,
      review_rating_mean: 3.5,
      refund_count: 1,
      refund_amount: 10,
      tenure_days: 100,
      x: 1,
      T_days: 100,
      churned: 0,
    });
    expect(r.t_x_days).toBeCloseTo(90 + 1 / 24, 9);
  });
});
