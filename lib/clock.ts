// The one source of "now" for model jobs, data generators and time windows. The runtime uses the system
// clock; tests inject a fixed instant so a seed always gives the same shop and the same model answers,
// whatever the hour they run at; `--as-of` / `?as_of=` score as of a past day.
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock stopped at `at` (an instant in ms or an ISO string). */
export function fixedClock(at: number | string): Clock {
  const ms = typeof at === 'number' ? at : Date.parse(at);
  if (!Number.isFinite(ms)) throw new Error(`fixedClock: not an instant: ${String(at)}`);
  return { now: () => ms };
}

/** The end of a UTC calendar day given as YYYY-MM-DD (what `--as-of` means), or null when malformed. */
export function endOfDay(day: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return null;
  const d = new Date(`${day}T23:59:59.999Z`);
  return Number.isFinite(d.getTime()) && d.toISOString().startsWith(day) ? d : null;
}
