// Throttling of shop password checks (login, and sign-up with an e-mail that has an account), per
// account and per client address, with exponential backoff. After a few free failures each further one
// locks the account (or address) for twice as long as the last, up to a cap; while locked, no password
// is checked at all, so the right password does not get through either. The account key is the
// normalised e-mail whether or not it has an account: the throttle itself reveals nothing.
// NOTE: kept in memory per process; behind several API processes an attacker gets each one's budget.
import type { ShopDeps } from './shop.ts';
import { normaliseEmail } from './members.store.ts';

export interface ThrottleLimits {
  /** Wrong passwords allowed before the first lock (the one that reaches it locks). */
  free: number;
  /** First lock; each further failure doubles it. */
  baseLockMs: number;
  maxLockMs: number;
  /** A record with no failure for this long is forgotten. */
  forgetAfterMs: number;
}

export const ACCOUNT_LIMITS: ThrottleLimits = { free: 5, baseLockMs: 2_000, maxLockMs: 15 * 60_000, forgetAfterMs: 60 * 60_000 };
// Generous per address: shops behind one NAT (offices, mobile carriers) share it.
export const ADDRESS_LIMITS: ThrottleLimits = { free: 30, baseLockMs: 2_000, maxLockMs: 15 * 60_000, forgetAfterMs: 60 * 60_000 };

const MAX_RECORDS = 100_000;

interface Attempts {
  failures: number;
  lockedUntil: number;
  lastFailure: number;
}

class Backoff {
  private readonly records = new Map<string, Attempts>();

  constructor(private readonly limits: ThrottleLimits) {}

  private current(key: string, now: number): Attempts | undefined {
    const r = this.records.get(key);
    if (r && now - r.lastFailure > this.limits.forgetAfterMs && now >= r.lockedUntil) {
      this.records.delete(key);
      return undefined;
    }
    return r;
  }

  /** Milliseconds until `key` may try again; 0 when it may now. */
  wait(key: string, now: number): number {
    const r = this.current(key, now);
    return r ? Math.max(0, r.lockedUntil - now) : 0;
  }

  fail(key: string, now: number): void {
    const r = this.current(key, now) ?? { failures: 0, lockedUntil: 0, lastFailure: now };
    r.failures++;
    r.lastFailure = now;
    const over = r.failures - this.limits.free; // 0 at the failure that uses up the free ones
    if (over >= 0) r.lockedUntil = now + Math.min(this.limits.maxLockMs, this.limits.baseLockMs * 2 ** Math.min(over, 30));
    // Re-inserted: the Map's order is then oldest-failure-first, which is what to drop when full.
    this.records.delete(key);
    this.records.set(key, r);
    if (this.records.size > MAX_RECORDS) this.records.delete(this.records.keys().next().value!);
  }

  clear(key: string): void {
    this.records.delete(key);
  }
}

export class LoginThrottle {
  private readonly accounts: Backoff;
  private readonly addresses: Backoff;
  /** Replaceable in tests, to let a lock run out without waiting. */
  now: () => number = Date.now;

  constructor(accountLimits: ThrottleLimits = ACCOUNT_LIMITS, addressLimits: ThrottleLimits = ADDRESS_LIMITS) {
    this.accounts = new Backoff(accountLimits);
    this.addresses = new Backoff(addressLimits);
  }

  /** Seconds to wait before this e-mail may be tried from this address; 0 when it may now. */
  retryAfter(email: string, address: string): number {
    const now = this.now();
    const ms = Math.max(this.accounts.wait(normaliseEmail(email), now), this.addresses.wait(address, now));
    return ms > 0 ? Math.ceil(ms / 1000) : 0;
  }

  failed(email: string, address: string): void {
    const now = this.now();
    this.accounts.fail(normaliseEmail(email), now);
    this.addresses.fail(address, now);
  }

  /** The account's failures are forgotten; the address keeps its count (one NAT, one attacker, many users). */
  succeeded(email: string): void {
    this.accounts.clear(normaliseEmail(email));
  }
}

const throttles = new WeakMap<ShopDeps, LoginThrottle>();

/** One throttle per app: the HTML forms and the JSON endpoints share it. */
export function loginThrottleFor(deps: ShopDeps): LoginThrottle {
  let t = throttles.get(deps);
  if (!t) {
    t = new LoginThrottle();
    throttles.set(deps, t);
  }
  return t;
}
