// Splits, ground truth and the streaming readers on small fixture files.
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fromRows } from '../models/recs/interactions.ts';
import { groundTruth, stratifiedSplit, timeSplit } from '../models/recs/splits.ts';
import { parseTimestamp, readInteractions } from '../models/recs/readers.ts';
import { splitCsvRecord } from '../lib/csv.ts';

const FIX = path.join(import.meta.dirname, 'fixtures', 'recs');

describe('splits', () => {
  const T = Date.UTC(2024, 0, 1);
  it('time split: before the cut-off trains, at or after it tests', () => {
    const data = fromRows([['u', 'a', T - 1], ['u', 'b', T], ['v', 'c', T + 1]]);
    const s = timeSplit(data, T);
    expect(s.train.length).toBe(1);
    expect(s.test.length).toBe(2);
    expect(s.now).toBe(T);
  });

  it('stratified split: 75/25 of each user distinct items, one side per pair, same seed same split', () => {
    const rows: Array<[string, string, number]> = [];
    for (let k = 0; k < 8; k++) rows.push(['u1', `i${k}`, T + k]);
    for (let k = 0; k < 4; k++) rows.push(['u2', `i${k}`, T + k]);
    rows.push(['u2', 'i0', T + 99]); // a repeat of one pair stays with it
    const data = fromRows(rows);
    const s = stratifiedSplit(data, 0.75, 42);
    const side = (d: typeof s.train, u: string) => new Set([...d.user].map((x, k) => [x, d.item[k]!] as const).filter(([x]) => data.users.ids[x] === u).map(([, i]) => i));
    expect(side(s.train, 'u1').size).toBe(6);
    expect(side(s.test, 'u1').size).toBe(2);
    expect(side(s.train, 'u2').size).toBe(3);
    expect(side(s.test, 'u2').size).toBe(1);
    for (const u of ['u1', 'u2']) for (const i of side(s.test, u)) expect(side(s.train, u).has(i)).toBe(false);
    expect(s.train.length + s.test.length).toBe(data.length);
    const again = stratifiedSplit(data, 0.75, 42);
    expect([...again.test.item]).toEqual([...s.test.item]);
    const other = stratifiedSplit(data, 0.75, 7);
    expect(other.test.length).toBeGreaterThan(0);
  });

  it('ground truth: only users seen in training; seen items dropped unless keepSeen', () => {
    const data = fromRows([['u', 'a', T - 1], ['u', 'a', T + 1], ['u', 'b', T + 1], ['new', 'c', T + 1]]);
    const s = timeSplit(data, T);
    const u = data.users.get('u')!;
    expect([...groundTruth(s, false).keys()]).toEqual([u]);
    expect([...groundTruth(s, false).get(u)!].map((i) => data.items.ids[i])).toEqual(['b']);
    expect([...groundTruth(s, true).get(u)!].map((i) => data.items.ids[i]).sort()).toEqual(['a', 'b']);
  });
});

describe('readers', () => {
  it('CSV lines with quotes, embedded commas and doubled quotes', () => {
    expect(splitCsvRecord('1,"A,B",3')).toEqual(['1', 'A,B', '3']);
    expect(splitCsvRecord('1,"RECORD FRAME 7"" SINGLE",3')).toEqual(['1', 'RECORD FRAME 7" SINGLE', '3']);
    expect(splitCsvRecord('a,,c')).toEqual(['a', '', 'c']);
  });

  it('online-retail: skips cancellations, non-positive quantities, missing customers; reads .gz too', async () => {
    const file = path.join(FIX, 'online-retail-sample.csv');
    const { data, stats } = await readInteractions(file, 'online-retail');
    expect(stats.skipped).toEqual({ cancellation: 2, non_positive_quantity: 4, missing_customer: 2 });
    expect(stats.kept).toBe(18);
    expect(data.length).toBe(18);
    expect(data.users.ids).toContain('17850'); // "17850.0" → "17850"
    expect(data.items.ids).toContain('82567'); // the quoted "AIRLINE LOUNGE,METAL SIGN" line
    const k = [...data.item].findIndex((i) => data.items.ids[i] === '85123A');
    expect(data.ts[k]).toBe(Date.UTC(2010, 11, 1, 8, 26));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-'));
    const gz = path.join(dir, 'sample.csv.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(file)));
    expect((await readInteractions(gz, 'online-retail')).data.length).toBe(18);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('movielens: u.data (tabs, seconds) and ratings.csv (header); rating is the weight', async () => {
    const u = await readInteractions(path.join(FIX, 'movielens-u.data'), 'movielens');
    expect(u.data.length).toBe(4);
    expect(u.data.ts[0]).toBe(881250949 * 1000);
    expect(u.data.weight[1]).toBe(5);
    const r = await readInteractions(path.join(FIX, 'movielens-ratings.csv'), 'movielens');
    expect(r.data.length).toBe(3);
    expect(r.data.weight[1]).toBe(4.5);
  });

  it('generic: user,item,timestamp[,weight] with a header', async () => {
    const { data } = await readInteractions(path.join(FIX, 'generic-small.csv'), 'generic');
    expect(data.length).toBe(266);
    expect(data.users.size).toBe(40);
    expect(parseTimestamp('2024-01-02 03:04:05')).toBe(Date.UTC(2024, 0, 2, 3, 4, 5));
    expect(parseTimestamp('1700000000')).toBe(1700000000 * 1000);
    expect(parseTimestamp('1700000000000')).toBe(1700000000000);
  });

  it('refuses a missing file and a header that is not online-retail', async () => {
    await expect(readInteractions(path.join(FIX, 'nope.csv'), 'generic')).rejects.toThrow(/no such file/);
    await expect(readInteractions(path.join(FIX, 'generic-small.csv'), 'online-retail')).rejects.toThrow(/InvoiceNo/);
  });
});
