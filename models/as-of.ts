// "As of day D" for a model run: the run sees everything up to the end of D (UTC). One parser for the
// CLI's --as-of and the API's ?as_of=, so both refuse the same days (2026-02-31 is not 3 March).
export class AsOfError extends Error {}

export function parseAsOf(day: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) throw new AsOfError(`must be a day as YYYY-MM-DD, got '${day}'`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const end = new Date(Date.UTC(y, mo - 1, d, 23, 59, 59, 999));
  if (end.getUTCFullYear() !== y || end.getUTCMonth() !== mo - 1 || end.getUTCDate() !== d) throw new AsOfError(`'${day}' is not a day of the calendar`);
  return end;
}
