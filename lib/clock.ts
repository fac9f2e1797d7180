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

