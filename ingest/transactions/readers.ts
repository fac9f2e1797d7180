// Readers that turn transaction files of several layouts into one row type. Each reader streams the
// file in batches (one read chunk of lines at a time) and counts what it skipped, so a caller can tell
// the user how much of the file was usable.
import { CsvLineReader, endsInsideQuotes, guessDelimiter, splitCsvRecord } from '../../lib/csv.ts';
import { parseDay } from './dates.ts';
import { TransactionFileError } from './errors.ts';
import { checkReadable, firstLine, readLineBatches } from './lines.ts';

export const FORMATS = ['cdnow', 'online-retail', 'generic'] as const;
export type TransactionFormat = (typeof FORMATS)[number];

/** One line of a file: a purchase (amount ≥ 0 usually) or a return/cancellation (amount < 0 usually). */
export interface TxRow {
  customer: string;
  /** Days since 1970-01-01 in the shop's calendar. */
  day: number;
  amount: number;
  purchase: boolean;
}

export interface ReadStats {
  rows: number;
  used: number;
  skippedNoCustomer: number;
  skippedBadDate: number;
  skippedBadAmount: number;
  skippedMalformed: number;
}

export function emptyStats(): ReadStats {
  return { rows: 0, used: 0, skippedNoCustomer: 0, skippedBadDate: 0, skippedBadAmount: 0, skippedMalformed: 0 };
}

export interface ReadOptions {
  format?: TransactionFormat;
  customerCol?: string;
  dateCol?: string;
  amountCol?: string;
}

/** Customer ids written as floats ("17850.0") or zero-padded ("00004") become "17850" and "4". */
function normaliseId(raw: string): string {
  const s = raw.trim();
  if (/^\d+(\.0*)?$/.test(s)) return String(Number.parseInt(s, 10));
  return s;
}

/** The CDNOW logs: `id date cds dollars` (master) or `master_id sample_id date cds dollars` (sample). */
async function* readCdnow(file: string, stats: ReadStats): AsyncGenerator<TxRow[]> {
  let first = true;
  for await (const lines of readLineBatches(file)) {
    const out: TxRow[] = [];
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      if (f.length === 1 && f[0] === '') continue;
      // lifetimes added a header line ("customer_id date number_of_cds dollar_value") to its copy.
      if (first && !/^\d+$/.test(f[0]!)) {
        first = false;
        continue;
      }
      first = false;
      stats.rows++;
      if (f.length !== 4 && f.length !== 5) {
        stats.skippedMalformed++;
        if (stats.skippedMalformed > 100 && stats.skippedMalformed > stats.used) {
          throw new TransactionFileError(`${file} does not look like a CDNOW log: expected 4 or 5 whitespace-separated fields, got ${f.length} in "${line.slice(0, 80)}"`);
        }
        continue;
      }
      // In the sample the second column is the sample id (1..2357), the id the published summaries use.
      const id = f.length === 5 ? f[1]! : f[0]!;
      const day = parseDay(f[f.length - 3]!);
      const amount = Number(f[f.length - 1]);
      if (!Number.isFinite(day)) { stats.skippedBadDate++; continue; }
      if (!Number.isFinite(amount)) { stats.skippedBadAmount++; continue; }
      stats.used++;
      out.push({ customer: normaliseId(id), day, amount, purchase: true });
    }
    if (out.length > 0) yield out;
  }
}

export function columnIndex(header: string[], names: string[], file: string, what: string): number {
  const lower = header.map((h) => h.trim().toLowerCase());
  for (const n of names) {
    const i = lower.indexOf(n.toLowerCase());
    if (i >= 0) return i;
  }
  throw new TransactionFileError(`${file}: no ${what} column (looked for ${names.join(' / ')}); columns are: ${header.join(', ')}`);
}

/** Batches of CSV records after the header line; the header comes with each batch. */
export async function* headedRecords(file: string): AsyncGenerator<{ header: string[]; records: string[][] }> {
  let header: string[] | null = null;
  let reader = new CsvLineReader();
  for await (const lines of readLineBatches(file)) {
    const records: string[][] = [];
    for (const line of lines) {
      if (header === null) {
        if (endsInsideQuotes(line)) throw new TransactionFileError(`${file}: the header line has an unclosed quote`);
        const delim = guessDelimiter(line);
        header = splitCsvRecord(line, delim);
        reader = new CsvLineReader(delim);
        continue;
      }
      const rec = reader.push(line);
      if (rec && !(rec.length === 1 && rec[0] === '')) records.push(rec);
    }
    if (header && records.length > 0) yield { header, records };
  }
  if (header === null) throw new TransactionFileError(`${file} is empty`);
  const rest = reader.flush();
  if (rest) yield { header, records: [rest] };
}

/**
 * UCI "Online Retail": one row per invoice line. A `C` invoice prefix marks a cancellation and a
 * negative Quantity a return; both are returns here. Rows without CustomerID cannot be attributed
 * and are skipped. Amount = Quantity × UnitPrice.
 */
async function* readOnlineRetail(file: string, stats: ReadStats): AsyncGenerator<TxRow[]> {
  let cols: { inv: number; qty: number; date: number; price: number; cust: number } | null = null;
  for await (const { header, records } of headedRecords(file)) {
    cols ??= {
      inv: columnIndex(header, ['InvoiceNo', 'Invoice'], file, 'invoice'),
      qty: columnIndex(header, ['Quantity'], file, 'quantity'),
      date: columnIndex(header, ['InvoiceDate'], file, 'invoice date'),
      price: columnIndex(header, ['UnitPrice', 'Price'], file, 'unit price'),
      cust: columnIndex(header, ['CustomerID', 'Customer ID'], file, 'customer id'),
    };
    const out: TxRow[] = [];
    for (const rec of records) {
      stats.rows++;
      if (rec.length < header.length) { stats.skippedMalformed++; continue; }
      const cust = rec[cols.cust]!.trim();
      if (cust === '') { stats.skippedNoCustomer++; continue; }
      const day = parseDay(rec[cols.date]!);
      if (!Number.isFinite(day)) { stats.skippedBadDate++; continue; }
      const qty = Number(rec[cols.qty]);
      const price = Number(rec[cols.price]);
      if (!Number.isFinite(qty) || !Number.isFinite(price)) { stats.skippedBadAmount++; continue; }
      const cancelled = /^c/i.test(rec[cols.inv]!.trim());
      stats.used++;
      out.push({ customer: normaliseId(cust), day, amount: qty * price, purchase: !cancelled && qty > 0 });
    }
    if (out.length > 0) yield out;
  }
}

/** Any CSV with a header, given the names of the customer, date and amount columns; negative amounts are returns. */
async function* readGeneric(file: string, stats: ReadStats, opts: ReadOptions): AsyncGenerator<TxRow[]> {
  const { customerCol, dateCol, amountCol } = opts;
  if (!customerCol || !dateCol || !amountCol) {
    throw new TransactionFileError('--format generic needs --customer-col, --date-col and --amount-col');
  }
  let cols: { cust: number; date: number; amount: number } | null = null;
  for await (const { header, records } of headedRecords(file)) {
    cols ??= {
      cust: columnIndex(header, [customerCol], file, 'customer'),
      date: columnIndex(header, [dateCol], file, 'date'),
      amount: columnIndex(header, [amountCol], file, 'amount'),
    };
    const out: TxRow[] = [];
    for (const rec of records) {
      stats.rows++;
      if (rec.length < header.length) { stats.skippedMalformed++; continue; }
      const cust = rec[cols.cust]!.trim();
      if (cust === '') { stats.skippedNoCustomer++; continue; }
      const day = parseDay(rec[cols.date]!);
      if (!Number.isFinite(day)) { stats.skippedBadDate++; continue; }
      const amount = Number(rec[cols.amount]!.trim());
      if (!Number.isFinite(amount)) { stats.skippedBadAmount++; continue; }
      stats.used++;
      out.push({ customer: normaliseId(cust), day, amount, purchase: amount >= 0 });
    }
    if (out.length > 0) yield out;
  }
}

/** Guess the layout from the first line; null when it is none that is recognised. */
export async function detectFormat(file: string): Promise<TransactionFormat | null> {
  const line = await firstLine(file);
  if (line !== null) {
    if (/^\s*\d+\s+(\d+\s+)?\d{8}\s+\d+\s+-?[\d.]+\s*$/.test(line) || /^\s*customer_id\s+date\s+number_of_cds/i.test(line)) return 'cdnow';
    const header = endsInsideQuotes(line) ? [] : splitCsvRecord(line, guessDelimiter(line));
    const lower = header.map((h) => h.trim().toLowerCase());
    if (lower.includes('invoicedate') && lower.some((h) => h === 'customerid' || h === 'customer id')) return 'online-retail';
  }
  return null;
}

/** Batches of rows from a transaction file; `stats` is filled in as the file is read. */
export async function* readTransactions(file: string, opts: ReadOptions, stats: ReadStats = emptyStats()): AsyncGenerator<TxRow[]> {
  checkReadable(file);
  let format = opts.format;
  if (!format) {
    if (opts.customerCol || opts.dateCol || opts.amountCol) format = 'generic';
    else {
      const found = await detectFormat(file);
      if (!found) {
        throw new TransactionFileError(
          `cannot tell the layout of ${file}; pass --format cdnow|online-retail, or --format generic with --customer-col, --date-col and --amount-col`,
        );
      }
      format = found;
    }
  }
  switch (format) {
    case 'cdnow':
      yield* readCdnow(file, stats);
      return;
    case 'online-retail':
      yield* readOnlineRetail(file, stats);
      return;
    case 'generic':
      yield* readGeneric(file, stats, opts);
      return;
    default:
      throw new TransactionFileError(`unknown format '${String(format)}'; use one of ${FORMATS.join(', ')}`);
  }
}
