// Streaming readers for interaction files (plain or .gz), one line at a time, into typed columns.
import fs from 'node:fs';
import readline from 'node:readline';
import zlib from 'node:zlib';
import { splitCsvRecord } from '../../lib/csv.ts';
import { InteractionsBuilder, type Interactions } from './interactions.ts';

export type InteractionFormat = 'online-retail' | 'movielens' | 'generic';
export const FORMATS: readonly InteractionFormat[] = ['online-retail', 'movielens', 'generic'];

export class InteractionFileError extends Error {}

export interface ReadStats {
  lines: number;
  kept: number;
  skipped: Record<string, number>;
}

async function* lines(file: string): AsyncGenerator<string> {
  const raw = fs.createReadStream(file);
  const input = file.endsWith('.gz') ? raw.pipe(zlib.createGunzip()) : raw;
  const rl = readline.createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
    raw.destroy();
  }
}

/** "2010-12-01 08:26:00" (the Databricks copy of UCI Online Retail) as UTC epoch ms. */
export function parseRetailDate(s: string): number {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?/.exec(s);
  if (!m) return NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, m[6] ? +m[6] : 0);
}

/** Epoch seconds, epoch ms (≥ 1e11) or an ISO date (UTC unless it says otherwise). */
export function parseTimestamp(s: string): number {
  const t = s.trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) {
    const n = Number(t);
    return Math.abs(n) >= 1e11 ? n : n * 1000;
  }
  const iso = /[zZ]|[+-]\d{2}:?\d{2}$/.test(t) ? t : t.replace(' ', 'T') + (t.length > 10 ? 'Z' : '');
  return Date.parse(iso);
}

function skip(stats: ReadStats, why: string): void {
  stats.skipped[why] = (stats.skipped[why] ?? 0) + 1;
}

/**
 * UCI Online Retail: one interaction per invoice line. Cancellations (InvoiceNo starting with C),
 * non-positive quantities (returns, adjustments) and lines without a CustomerID are skipped.
 * User = CustomerID ("17850.0" → "17850"), item = StockCode, weight 1 per line.
 */
async function readOnlineRetail(file: string, b: InteractionsBuilder, stats: ReadStats): Promise<void> {
  let col: Record<string, number> | null = null;
  for await (const line of lines(file)) {
    stats.lines++;
    if (line.length === 0) continue;
    const f = splitCsvRecord(line);
    if (!col) {
      col = Object.fromEntries(f.map((name, i) => [name.trim(), i]));
      for (const need of ['InvoiceNo', 'StockCode', 'Quantity', 'InvoiceDate', 'CustomerID']) {
        if (col[need] === undefined) throw new InteractionFileError(`${file}: header has no ${need} column (online-retail format)`);
      }
      continue;
    }
    const invoice = f[col.InvoiceNo!] ?? '';
    if (invoice.startsWith('C')) { skip(stats, 'cancellation'); continue; }
    if (!(Number(f[col.Quantity!]) > 0)) { skip(stats, 'non_positive_quantity'); continue; }
    const customer = (f[col.CustomerID!] ?? '').trim().replace(/\.0+$/, '');
    if (customer === '') { skip(stats, 'missing_customer'); continue; }
    const ts = parseRetailDate(f[col.InvoiceDate!] ?? '');
    if (Number.isNaN(ts)) { skip(stats, 'bad_date'); continue; }
    const item = (f[col.StockCode!] ?? '').trim();
    if (item === '') { skip(stats, 'missing_item'); continue; }
    b.add(customer, item, ts, 1);
    stats.kept++;
  }
}

/** MovieLens u.data (user \t item \t rating \t seconds) or ratings.csv (userId,movieId,rating,timestamp). */
async function readMovielens(file: string, b: InteractionsBuilder, stats: ReadStats): Promise<void> {
  let first = true;
  for await (const line of lines(file)) {
    stats.lines++;
    if (line.length === 0) continue;
    const f = line.includes('\t') ? line.split('\t') : line.includes('::') ? line.split('::') : splitCsvRecord(line);
    if (first) {
      first = false;
      if (f[0] === 'userId' || Number.isNaN(Number(f[0]))) continue;
    }
    if (f.length < 4) { skip(stats, 'short_line'); continue; }
    const rating = Number(f[2]);
    const ts = Number(f[3]) * 1000;
    if (!Number.isFinite(rating) || !Number.isFinite(ts)) { skip(stats, 'bad_number'); continue; }
    b.add(f[0]!, f[1]!, ts, rating);
    stats.kept++;
  }
}

/** user,item,timestamp[,weight] with or without a header line. */
async function readGeneric(file: string, b: InteractionsBuilder, stats: ReadStats): Promise<void> {
  let first = true;
  for await (const line of lines(file)) {
    stats.lines++;
    if (line.trim().length === 0) continue;
    const f = splitCsvRecord(line);
    const ts = parseTimestamp(f[2] ?? '');
    if (first) {
      first = false;
      if (Number.isNaN(ts)) continue; // header
    }
    if (f.length < 3 || !f[0] || !f[1]) { skip(stats, 'short_line'); continue; }
    if (Number.isNaN(ts)) { skip(stats, 'bad_timestamp'); continue; }
    const w = f[3] === undefined || f[3] === '' ? 1 : Number(f[3]);
    if (!Number.isFinite(w) || w <= 0) { skip(stats, 'bad_weight'); continue; }
    b.add(f[0].trim(), f[1].trim(), ts, w);
    stats.kept++;
  }
}

export async function readInteractions(file: string, format: InteractionFormat): Promise<{ data: Interactions; stats: ReadStats }> {
  if (!fs.existsSync(file)) throw new InteractionFileError(`no such file: ${file}`);
  const b = new InteractionsBuilder();
  const stats: ReadStats = { lines: 0, kept: 0, skipped: {} };
  if (format === 'online-retail') await readOnlineRetail(file, b, stats);
  else if (format === 'movielens') await readMovielens(file, b, stats);
  else await readGeneric(file, b, stats);
  if (b.length === 0) throw new InteractionFileError(`${file}: no usable interactions (format ${format})`);
  return { data: b.build(), stats };
}
