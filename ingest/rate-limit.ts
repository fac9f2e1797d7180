// A token bucket per write key: smooth bursts, refuse floods with 429 and a Retry-After.
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly perMinute: number, private readonly clock: () => number = Date.now) {}

  /** Takes `cost` tokens; returns 0 when allowed, else the seconds to wait. */
  take(key: string, cost = 1): number {
    const now = this.clock();
    const ratePerMs = this.perMinute / 60_000;
    const b = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    b.tokens = Math.min(this.perMinute, b.tokens + (now - b.at) * ratePerMs);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return 0;
    }
    return Math.max(1, Math.ceil((cost - b.tokens) / ratePerMs / 1000));
  }
}
