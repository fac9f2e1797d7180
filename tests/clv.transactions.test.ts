// Transaction file readers and the calibration summary: layouts, gzip, cancellations and returns,
// same-day merging, and the errors a user sees for a bad file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { CustomerDays } from '../models/transactions/customer-days.ts';
import { formatDay, parseDay, parseIsoDay } from '../ingest/transactions/dates.ts';
import { detectFormat, emptyStats, readTransactions, type ReadOptions } from '../ingest/transactions/readers.ts';
import { buildSummary } from '../models/transactions/rfm-summary.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-clv-tx-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string, gzip = false): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, gzip ? zlib.gzipSync(text) : text);
  return file;
}

async function days(file: string, opts: ReadOptions = {}) {
  const stats = emptyStats();
  const d = await new CustomerDays().addAll(readTransactions(file, opts, stats));
  const byId = new Map([...d.customers()].map((c) => [c.id, c]));
  return { stats, byId, d };
}

const D = (s: string) => parseIsoDay(s);

describe('dates', () => {
  it('parses the layouts found in shop exports', () => {
    expect(formatDay(parseDay('19970101'))).toBe('1997-01-01');
    expect(formatDay(parseDay('2010-12-01 08:26:00'))).toBe('2010-12-01');
    expect(formatDay(parseDay('2011-03-04T23:59:59Z'))).toBe('2011-03-04');
    expect(formatDay(parseDay('12/1/2010 8:26'))).toBe('2010-12-01');
    expect(formatDay(parseDay('2011/3/4'))).toBe('2011-03-04');
    expect(parseDay('2021-02-30')).toBeNaN();
    expect(parseDay('yesterday')).toBeNaN();
    expect(parseIsoDay('1997-9-30')).toBeNaN();
  });
});

describe('CDNOW layout', () => {
  const master = ' customer_id  date number_of_cds  dollar_value\r\n 00001 19970101  1   11.77\r\n 00001 19970101  2   20.00\r\n 00002 19970112  1   12.00\r\n 00001 19970301  1    0.00\r\n 00001 19971015  1    5.00\r\n';

  it('reads the master layout with lifetimes header and merges same-day rows', async () => {
    const file = write('master.txt', master);
    expect(await detectFormat(file)).toBe('cdnow');
    const { stats, byId } = await days(file);
    expect(stats.rows).toBe(5);
    expect(byId.get('1')).toEqual({ id: '1', days: [D('1997-01-01'), D('1997-03-01'), D('1997-10-15')], values: [31.77, 0, 5] });
    expect(byId.get('2')?.days).toEqual([D('1997-01-12')]);
  });

  it('reads gzipped files the same (by content, not by name) and the sample layout', async () => {
    const plain = await days(write('m2.txt', master));
    const gz = await days(write('m2.dat', master, true));
    expect([...gz.byId.values()]).toEqual([...plain.byId.values()]);
    const sample = await days(write('sample.txt', ' 00004 0001 19970101  2   29.33\r\n 00004 0001 19970118  2   29.73\r\n 00018 0002 19970101  2   29.73\r\n'));
    expect([...sample.byId.keys()]).toEqual(['1', '2']);
  });
});

describe('online-retail layout', () => {
  const header = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n';
  const rows = [
    '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom',
    '536366,22633,"HAND WARMER, UNION JACK",6,2010-12-01 08:28:00,1.85,17850.0,United Kingdom',
    // Same-day cancellation nets against the day's purchases.
    'C536379,D,Discount,-1,2010-12-01 09:41:00,5.00,17850.0,United Kingdom',
    // No customer: cannot be attributed.
    '536414,22139,,56,2010-12-01 11:52:00,0.0,,United Kingdom',
    // A later return-only day is not a transaction.
    'C536391,22556,PLASTERS IN TIN CIRCUS PARADE,-12,2010-12-03 10:24:00,1.65,17850.0,United Kingdom',
    // A quoted description across two lines.
    '536367,84879,"ASSORTED COLOUR',
    'BIRD ORNAMENT",32,2010-12-05 08:34:00,1.69,13047.0,United Kingdom',
    '536368,22960,JAM MAKING SET WITH JARS,-6,2010-12-06 08:34:00,4.25,13047.0,United Kingdom',
    '536369,21756,BATH BUILDING BLOCK WORD,3,2010-12-07 08:35:00,5.95,13047.0,United Kingdom',
  ];

  it('nets cancellations and returns per customer-day and skips rows without a customer', async () => {
    const file = write('retail.csv.gz', header + rows.join('\n') + '\n', true);
    expect(await detectFormat(file)).toBe('online-retail');
    const { stats, byId } = await days(file, { format: 'online-retail' });
    expect(stats.rows).toBe(8);
    expect(stats.skippedNoCustomer).toBe(1);
    const a = byId.get('17850')!;
    expect(a.days).toEqual([D('2010-12-01')]);
    expect(a.values[0]).toBeCloseTo(6 * 2.55 + 6 * 1.85 - 5, 10);
    const b = byId.get('13047')!;
    // The 12-06 row with negative quantity is a return, so that day has no purchase.
    expect(b.days).toEqual([D('2010-12-05'), D('2010-12-07')]);
    expect(b.values).toEqual([32 * 1.69, 3 * 5.95]);
  });
});

describe('generic layout', () => {
  it('uses the named columns, any common delimiter, and treats negative amounts as returns', async () => {
    const file = write('orders.csv', 'order;client;placed_at;total\n1;c-1;2024-01-05;10.5\n2;c-1;2024-01-05;4.5\n3;c-1;2024-02-01;20\n4;c-2;2024-02-01;-3\n5;;2024-02-01;9\n6;c-3;not a date;9\n');
    const { stats, byId } = await days(file, { format: 'generic', customerCol: 'client', dateCol: 'placed_at', amountCol: 'total' });
    expect(stats).toMatchObject({ rows: 6, used: 4, skippedNoCustomer: 1, skippedBadDate: 1 });
    expect(byId.get('c-1')).toEqual({ id: 'c-1', days: [D('2024-01-05'), D('2024-02-01')], values: [15, 20] });
    expect(byId.has('c-2')).toBe(false);
  });

  it('names the columns it has when one is missing', async () => {
    const file = write('orders2.csv', 'client,when,total\nx,2024-01-01,1\n');
    await expect(days(file, { format: 'generic', customerCol: 'client', dateCol: 'date', amountCol: 'total' })).rejects.toThrow(
      /no date column \(looked for date\); columns are: client, when, total/,
    );
    await expect(days(file, { format: 'generic' })).rejects.toThrow(/needs --customer-col/);
  });
});

describe('errors', () => {
  it('a missing file, and a file whose layout cannot be told', async () => {
    await expect(days(path.join(dir, 'nope.csv'))).rejects.toThrow(/transaction file not found/);
    const odd = write('odd.csv', 'a,b,c\n1,2,3\n');
    await expect(days(odd)).rejects.toThrow(/cannot tell the layout/);
  });
});

describe('calibration summary', () => {
  it('counts repeat days to the calibration end inclusive, holdout days after it, and drops late customers', async () => {
    const file = write(
      'sum.txt',
      [
        '1 19970101 1 10', '1 19970108 1 20', '1 19970115 1 40', '1 19970201 1 7', '1 19970210 1 5', '1 19970301 1 5',
        '2 19970115 1 10',
        '3 19970205 1 10', '3 19970206 1 10',
      ].join('\n'),
    );
    const { d } = await days(file, { format: 'cdnow' });
    const s = buildSummary(d, D('1997-02-01'), D('1997-02-10'));
    expect(s.ids).toEqual(['1', '2']);
    expect(s.excludedLate).toBe(1);
    expect(Array.from(s.x)).toEqual([3, 0]);
    expect(s.tx[0]).toBeCloseTo(31 / 7, 12);
    expect(s.T[0]).toBeCloseTo(31 / 7, 12);
    expect(s.T[1]).toBeCloseTo(17 / 7, 12);
    expect(s.zbar[0]).toBeCloseTo((20 + 40 + 7) / 3, 12);
    expect(s.zbar[1]).toBe(0);
    expect(Array.from(s.holdout)).toEqual([1, 0]);
  });
});
