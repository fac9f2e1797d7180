// Exchange rates: 1 unit of `currency` = `rate` units of `base`, per day. A conversion uses the latest
// rate on or before the event's day (the earliest later one if there is none before), directly or
// through USD. An unknown currency has no rate: the caller rejects the event, never guesses.
import { parseCsv } from '../lib/csv.ts';
import type { ClickHouse } from '../lib/clickhouse.ts';
import { DEFAULT_RATES_USD, DEFAULT_RATES_DAY } from './fx-defaults.ts';

interface Series { days: number[]; rates: number[] }

const DAY_MS = 86_400_000;

export class FxTable {
  private series = new Map<string, Series>(); // key `${base}:${currency}`

  static fromRows(rows: Array<{ day: string; currency: string; base: string; rate: number }>): FxTable {
    const t = new FxTable();
    const tmp = new Map<string, Array<[number, number]>>();
    for (const r of rows) {
      const key = `${r.base.toUpperCase()}:${r.currency.toUpperCase()}`;
      const list = tmp.get(key) ?? [];
      list.push([Math.floor(Date.parse(`${r.day.slice(0, 10)}T00:00:00Z`) / DAY_MS), Number(r.rate)]);
      tmp.set(key, list);
    }
    for (const [key, list] of tmp) {
      list.sort((a, b) => a[0] - b[0]);
      t.series.set(key, { days: list.map((x) => x[0]), rates: list.map((x) => x[1]) });
    }
    return t;
  }

  static async load(ch: ClickHouse): Promise<FxTable> {
    const rows = await ch.rows<{ day: string; currency: string; base: string; rate: number }>(
      'SELECT toString(day) AS day, currency, base, argMax(rate, updated_at) AS rate FROM fx_rates GROUP BY day, currency, base',
    );
    return FxTable.fromRows(rows);
  }

  private at(base: string, currency: string, day: number): number | null {
    const s = this.series.get(`${base}:${currency}`);
    if (!s || s.days.length === 0) return null;
    // Binary search for the last day <= target.
    let lo = 0;
    let hi = s.days.length - 1;
    if (day < s.days[0]!) return s.rates[0]!;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s.days[mid]! <= day) lo = mid;
      else hi = mid - 1;
    }
    return s.rates[lo]!;
  }

  /** Rate to turn one unit of `currency` into `base` on the day of `tsMs`; null when unknown. */
  rate(currency: string, base: string, tsMs: number): number | null {
    const c = currency.toUpperCase();
    const b = base.toUpperCase();
    if (c === b) return 1;
    const day = Math.floor(tsMs / DAY_MS);
    const direct = this.at(b, c, day);
    if (direct !== null) return direct;
    const cUsd = c === 'USD' ? 1 : this.at('USD', c, day);
    const bUsd = b === 'USD' ? 1 : this.at('USD', b, day);
    if (cUsd === null || bUsd === null || bUsd === 0) return null;
    return cUsd / bUsd;
  }

  currencies(): string[] {
    return [...new Set([...this.series.keys()].flatMap((k) => k.split(':')))].sort();
  }
}

/** Loads the bundled reference rates when fx_rates is empty, so a new shop converts the major currencies at once. */
export async function seedDefaultRates(ch: ClickHouse): Promise<number> {
  const [row] = await ch.rows<{ n: string }>('SELECT count() AS n FROM fx_rates');
  if (Number(row?.n ?? 0) > 0) return 0;
  const rows = Object.entries(DEFAULT_RATES_USD).map(([currency, rate]) => ({ day: DEFAULT_RATES_DAY, currency, base: 'USD', rate, source: 'bundled' }));
  await ch.insert('fx_rates', rows);
  return rows.length;
}

/** Parses a rates CSV: header with day,currency,rate[,base]; base defaults to `defaultBase`. */
export function parseRatesCsv(text: string, defaultBase: string): Array<{ day: string; currency: string; base: string; rate: number; source: string }> {
  const records = parseCsv(text).filter((r) => r.fields.some((f) => f.trim() !== ''));
  const header = (records.shift()?.fields ?? []).map((h) => h.trim().toLowerCase());
  const col = (name: string) => header.indexOf(name);
  const [iDay, iCur, iRate, iBase] = [col('day') >= 0 ? col('day') : col('date'), col('currency'), col('rate'), col('base')];
  if (iDay < 0 || iCur < 0 || iRate < 0) throw new Error('rates CSV needs a header with day (or date), currency and rate columns');
  return records.map(({ line, fields }) => {
    const f = fields.map((x) => x.trim());
    const day = f[iDay] ?? '';
    const currency = (f[iCur] ?? '').toUpperCase();
    const rate = Number(f[iRate]);
    const base = (iBase >= 0 ? f[iBase] ?? '' : defaultBase).toUpperCase() || defaultBase;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error(`line ${line}: day '${day}' is not YYYY-MM-DD`);
    if (!/^[A-Z]{3}$/.test(currency)) throw new Error(`line ${line}: currency '${currency}' is not a 3-letter code`);
    if (!/^[A-Z]{3}$/.test(base)) throw new Error(`line ${line}: base '${base}' is not a 3-letter code`);
    if (!(rate > 0) || !Number.isFinite(rate)) throw new Error(`line ${line}: rate '${f[iRate]}' is not a positive number`);
    return { day, currency, base, rate, source: 'import' };
  });
}

/** Stores imported rates (a later import of the same day and currency replaces the earlier one). */
export async function importRates(ch: ClickHouse, rows: Array<{ day: string; currency: string; base: string; rate: number; source: string }>): Promise<{ rows: number; currencies: string[]; days: { first: string; last: string } | null }> {
  if (rows.length === 0) return { rows: 0, currencies: [], days: null };
  const at = new Date().toISOString().replace('T', ' ').replace('Z', '');
  await ch.insert('fx_rates', rows.map((r) => ({ ...r, updated_at: at })));
  const days = rows.map((r) => r.day).sort();
  return { rows: rows.length, currencies: [...new Set(rows.map((r) => r.currency))].sort(), days: { first: days[0]!, last: days[days.length - 1]! } };
}
