// Analyst queries' own concurrency budget: at most `concurrency` run at once, at most `maxWaiting` wait
// (first come, first served) and none waits longer than `maxWaitMs`; one key holds at most `perKey`
// places (running or waiting), so one analyst cannot fill the queue for the others. A full queue or a
// wait that runs out is an answer (429 / 503 with Retry-After), never an unbounded pile-up in front of
// the engine the collector and the storefront share.

export class QueueRefused extends Error {
  constructor(readonly status: 429 | 503, readonly code: 'query_queue_full' | 'query_queue_timeout', readonly retryAfterSeconds: number, message: string) {
    super(message);
    this.name = 'QueueRefused';
  }
}

export interface QueueLimits {
  concurrency: number;
  maxWaiting: number;
  maxWaitMs: number;
  perKey: number;
}

interface Waiter {
  key: string;
  start: () => void;
  timer: NodeJS.Timeout;
}

export class AnalystQueue {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private readonly heldByKey = new Map<string, number>();

  constructor(private readonly limits: QueueLimits) {}

  stats(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Runs `job` when a place is free; throws QueueRefused when the queue is full or the wait ran out. */
  async run<T>(key: string, job: () => Promise<T>): Promise<T> {
    const retryAfter = Math.max(1, Math.ceil(this.limits.maxWaitMs / 1000));
    if ((this.heldByKey.get(key) ?? 0) >= this.limits.perKey) {
      throw new QueueRefused(429, 'query_queue_full', retryAfter, `this key already has ${this.limits.perKey} analyst ${this.limits.perKey === 1 ? 'query' : 'queries'} running or waiting; wait for ${this.limits.perKey === 1 ? 'it' : 'them'} to finish`);
    }
    if (this.running >= this.limits.concurrency && this.waiting.length >= this.limits.maxWaiting) {
      throw new QueueRefused(429, 'query_queue_full', retryAfter, `${this.running} analyst queries are running and ${this.waiting.length} waiting, the most allowed; try again shortly`);
    }
    this.hold(key, +1);
    try {
      if (this.running >= this.limits.concurrency) await this.wait(key, retryAfter);
      else this.running++;
      try {
        return await job();
      } finally {
        this.release();
      }
    } finally {
      this.hold(key, -1);
    }
  }

  private wait(key: string, retryAfter: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        key,
        start: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        timer: setTimeout(() => {
          const at = this.waiting.indexOf(waiter);
          if (at !== -1) this.waiting.splice(at, 1);
          reject(new QueueRefused(503, 'query_queue_timeout', retryAfter, `no analyst query place came free within ${Math.round(this.limits.maxWaitMs / 1000)} s; try again shortly`));
        }, this.limits.maxWaitMs),
      };
      this.waiting.push(waiter);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next.start(); // the place passes straight on: `running` stays the same
    else this.running--;
  }

  private hold(key: string, delta: number): void {
    const n = (this.heldByKey.get(key) ?? 0) + delta;
    if (n <= 0) this.heldByKey.delete(key);
    else this.heldByKey.set(key, n);
  }
}
