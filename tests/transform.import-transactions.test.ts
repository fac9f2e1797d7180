// `cvm import transactions` as the CLI runs it: rows stored through the transformer's steps, rejects
// reported and dead-lettered, and a re-import of the same file stores nothing twice.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliContext } from '../lib/cli-context.ts';
import { connectClickHouse, type ClickHouse } from '../lib/clickhouse.ts';
import { testConfig, type Config } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';
import { run } from '../bin/commands/import-transactions.ts';

let dir: string;
let config: Config;

// CDNOW layout: customer, date, number of CDs, amount. The last line's amount is above the contract's
// money limit (1e12), so that purchase is a reject; the negative one is a refund.
const CDNOW = [
  '00001 19970101 2 29.33',
  '00001 19970118 1 14.96',
  '00002 19970102 1 10.00',
  '00002 19970105 1 -10.00',
  '00003 19970103 1 2000000000000.00',
].join('\n');

const RETAIL = [
  'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country',
  '536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom',
  '536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom',
  '536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,,EIRE',
  'C536379,D,Discount,-1,2010-12-01 09:41:00,27.50,14527.0,United Kingdom',
].join('\n');

async function importFile(file: string, args: string[] = []) {
  const lines: string[] = [];
  const ctx: CliContext = { config, log: initLogging({ level: 'silent' }), out: (l) => lines.push(l) };
  expect(await run([file, ...args, '--json'], ctx)).toBe(0);
  return JSON.parse(lines.join('\n')) as { events: number; stored: number; rejected: number; duplicates_skipped: number; products: number };
}

async function withStore<T>(f: (ch: ClickHouse) => Promise<T>): Promise<T> {
  const ch = await connectClickHouse(config);
  try {
    return await f(ch);
  } finally {
    await ch.close();
  }
}

const count = async (ch: ClickHouse, q: string) => Number((await ch.rows<{ n: string }>(q))[0]!.n);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-import-'));
  config = testConfig({ CVM_DATA_DIR: dir });
  fs.writeFileSync(path.join(dir, 'cdnow.txt'), CDNOW + '\n');
  fs.writeFileSync(path.join(dir, 'retail.csv'), RETAIL + '\n');
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('cvm import transactions', () => {
  it('stores purchases and refunds, dead-letters what the contract refuses, and reports the counts', async () => {
    const report = await importFile(path.join(dir, 'cdnow.txt'), ['--format', 'cdnow']);
    expect(report).toMatchObject({ events: 5, stored: 4, rejected: 1, duplicates_skipped: 0 });
    await withStore(async (ch) => {
      expect(await count(ch, "SELECT count() AS n FROM events WHERE type = 'purchase'")).toBe(3);
      expect(await count(ch, "SELECT count() AS n FROM events WHERE type = 'refund'")).toBe(1);
      expect(await count(ch, 'SELECT count() AS n FROM order_items')).toBe(3);
      const rejects = await ch.rows<{ source: string; field: string; reason: string; raw: string }>('SELECT source, field, reason, raw FROM events_rejected');
      expect(rejects).toHaveLength(1);
      expect(rejects[0]).toMatchObject({ source: 'import', field: expect.stringMatching(/^properties\./) });
      expect(JSON.parse(rejects[0]!.raw)).toMatchObject({ type: 'purchase', customer_id: '3' });
      // Back-office events never open a session.
      expect(await count(ch, "SELECT count() AS n FROM events WHERE session_id != ''")).toBe(0);
    });
  });

  it('a re-import of the same file stores nothing twice', async () => {
    const again = await importFile(path.join(dir, 'cdnow.txt'), ['--format', 'cdnow']);
    expect(again).toMatchObject({ events: 5, stored: 0, rejected: 0, duplicates_skipped: 5 });
    await withStore(async (ch) => {
      expect(await count(ch, 'SELECT count() AS n FROM events')).toBe(4);
      expect(await count(ch, 'SELECT count() AS n FROM order_items')).toBe(3);
      expect(await count(ch, 'SELECT count() AS n FROM events_rejected')).toBe(1);
    });
  });

  it('online-retail invoices become one purchase each, with country, products and anonymous buyers', async () => {
    const report = await importFile(path.join(dir, 'retail.csv'));
    expect(report).toMatchObject({ events: 3, stored: 3, rejected: 0, duplicates_skipped: 0, products: 4 });
    await withStore(async (ch) => {
      const rows = await ch.rows<{ type: string; order_id: string; customer_id: string; anonymous_id: string; country: string; amount: number }>(
        "SELECT type, order_id, customer_id, anonymous_id, country, amount FROM events WHERE currency = 'GBP' ORDER BY order_id",
      );
      expect(rows).toEqual([
        { type: 'purchase', order_id: '536365', customer_id: '17850', anonymous_id: '', country: 'GB', amount: 35.64 },
        { type: 'purchase', order_id: '536366', customer_id: '', anonymous_id: 'import-536366', country: 'IE', amount: 11.1 },
        { type: 'refund', order_id: 'C536379', customer_id: '14527', anonymous_id: '', country: 'GB', amount: 27.5 },
      ]);
      const lines = await ch.rows<{ order_id: string; n: number }>("SELECT order_id, toUInt8(count()) AS n FROM order_items WHERE currency = 'GBP' GROUP BY order_id ORDER BY order_id");
      expect(lines).toEqual([{ order_id: '536365', n: 2 }, { order_id: '536366', n: 1 }]);
    });
    expect(await importFile(path.join(dir, 'retail.csv'))).toMatchObject({ events: 3, stored: 0, rejected: 0, duplicates_skipped: 3 });
  });
});
