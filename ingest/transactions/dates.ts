// Calendar days as integers (days since 1970-01-01). Transaction times are taken as written, i.e. in
// the shop's own calendar: only the date part matters, so no time zone is applied.

const MS_PER_DAY = 86_400_000;

function dayOf(y: number, m: number, d: number): number {
  if (!(y >= 1900 && y <= 2200 && m >= 1 && m <= 12 && d >= 1 && d <= 31)) return NaN;
  const ms = Date.UTC(y, m - 1, d);
  // Rejects 2021-02-30 and the like, which Date.UTC would roll over.
  if (new Date(ms).getUTCDate() !== d) return NaN;
  return ms / MS_PER_DAY;
}

/**
 * Accepts `YYYY-MM-DD` (optionally followed by a time, as in ISO timestamps), `YYYY/MM/DD`, `YYYYMMDD`
 * and `M/D/YYYY[ H:MM]` (the original UCI export). NaN when the text is none of these.
 */
export function parseDay(text: string): number {
  const s = text.trim();
  let m = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:$|[T ])/.exec(s);
  if (m) return dayOf(Number(m[1]), Number(m[2]), Number(m[3]));
  m = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  if (m) return dayOf(Number(m[1]), Number(m[2]), Number(m[3]));
  m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:$| )/.exec(s);
  if (m) return dayOf(Number(m[3]), Number(m[1]), Number(m[2]));
  return NaN;
}

/** Strict `YYYY-MM-DD`, for command-line dates. */
export function parseIsoDay(text: string): number {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) ? parseDay(text) : NaN;
}

export function formatDay(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}
