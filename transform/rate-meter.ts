// Events per second over a sliding window, from per-second buckets: constant memory, O(1) per record.
export class RateMeter {
  private readonly buckets: Float64Array;
  private readonly stamps: Float64Array;

  constructor(private readonly windowS = 60, private readonly now: () => number = Date.now) {
    this.buckets = new Float64Array(windowS);
    this.stamps = new Float64Array(windowS).fill(-1);
  }

  add(n: number): void {
    const sec = Math.floor(this.now() / 1000);
    const i = sec % this.windowS;
    if (this.stamps[i] !== sec) {
      this.stamps[i] = sec;
      this.buckets[i] = 0;
    }
    this.buckets[i]! += n;
  }

  /** Average per second over the last `windowS` seconds (the current, partial second included). */
  perSecond(): number {
    const sec = Math.floor(this.now() / 1000);
    let sum = 0;
    for (let i = 0; i < this.windowS; i++) {
      const s = this.stamps[i]!;
      if (s > sec - this.windowS && s <= sec) sum += this.buckets[i]!;
    }
    return sum / this.windowS;
  }
}
