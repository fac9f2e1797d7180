// The filters every panel may take, read from a query string: date range (UTC days, `to` included),
// country ('' = all), RFM segment ('' = all), day/week grain, and the customer of the 360 page.
import type { ParamName } from './panel-schema.ts';

export interface Filters {
  from: string;
  to: string;
  country: string;
  segment: string;
  grain: 'day' | 'week';
  customer: string;
}

export class FilterError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

export const DEFAULT_DAYS = 30;
/** Longest range a panel is asked for: keeps calendars and scans bounded. */
export const MAX_DAYS = 3 * 366;

const DAY_MS = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function parseDay(field: string, v: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`)) || isoDay(Date.parse(`${v}T00:00:00Z`)) !== v) {
    throw new FilterError(field, `${field} must be a date as YYYY-MM-DD`);
  }
  return Date.parse(`${v}T00:00:00Z`);
}

export interface FilterQuery {
  from?: string;
  to?: string;
  country?: string;
  segment?: string;
  grain?: string;
  customer?: string;
}

/** Missing dates default to the last 30 days up to today (UTC). */
export function resolveFilters(q: FilterQuery, now = Date.now()): Filters {
  const to = q.to ? parseDay('to', q.to) : Date.parse(`${isoDay(now)}T00:00:00Z`);
  const from = q.from ? parseDay('from', q.from) : to - (DEFAULT_DAYS - 1) * DAY_MS;
  if (from > to) throw new FilterError('from', 'from must not be after to');
  if ((to - from) / DAY_MS + 1 > MAX_DAYS) throw new FilterError('from', `the date range may span at most ${MAX_DAYS} days`);
  const country = (q.country ?? '').trim().toUpperCase();
  if (country && !/^[A-Z]{2}$/.test(country)) throw new FilterError('country', 'country must be a 2-letter ISO code, or empty for all');
  const segment = (q.segment ?? '').trim();
  if (segment.length > 64) throw new FilterError('segment', 'segment is at most 64 characters');
  const grain = q.grain ?? 'day';
  if (grain !== 'day' && grain !== 'week') throw new FilterError('grain', "grain must be 'day' or 'week'");
  const customer = (q.customer ?? '').trim();
  if (customer.length > 128) throw new FilterError('customer', 'customer is at most 128 characters');
  return { from: isoDay(from), to: isoDay(to), country, segment, grain, customer };
}

/** Query parameters for one panel: only the ones its SQL declares. */
export function paramsFor(names: readonly ParamName[], f: Filters): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) out[n] = f[n];
  return out;
}
