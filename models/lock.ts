// A lease per model job, kept in ClickHouse, so two schedulers (or a scheduler and an API call) never run
// the same job at once. Embedded mode is one process and needs none; the runner uses it against a server.
//
// Why ClickHouse and not Kafka leader election: the scheduler and API roles do not talk to Kafka, and the
// store the jobs write to is the one thing every runner shares. ClickHouse has no compare-and-set, so the
// lock is an append-only table (sql/migrations/0009_model_locks.sql) and a rule everybody applies alike:
//
//   the owner of a job is its oldest live claim (live: not released, lease not expired), by claimed_at,
//   the ClickHouse server's clock at insert, ties broken by holder id.
//
// A candidate inserts its claim, reads back the server time, and gives up if the claim took more than
// settle/2 to become visible. It then waits `settle` and reads the owner. NOTE: why two winners cannot
// happen: if A's claim is older than B's, A's claim was visible by c_A + settle/2, and B reads at or after
// c_B + settle > c_A + settle, so B sees A's claim and yields. (Inserts are visible once acknowledged on a
// single server; a replicated cluster needs insert_quorum and select_sequential_consistency for this.)
//
// Leases are renewed every lease/3 by a conditional INSERT ... SELECT that only extends a lease still valid
// for more than `settle`, and a holder that cannot confirm its renewal within settle/2 counts the lock as
// lost. So a paused holder whose lease ran out never comes back believing it still holds the job; the
// runner marks such a run failed, and readers never serve outputs of a failed run.
import crypto from 'node:crypto';
import os from 'node:os';
import type { ClickHouse } from '../lib/clickhouse.ts';
import type { Logger } from '../lib/logger.ts';

export interface JobLockOptions {
  /** Lease length; renewed every third of it while the job runs. */
  leaseMs?: number;
  /** Bound on how long a claim may take to become visible, and the wait before reading the owner. */
  settleMs?: number;
  log?: Logger;
}

export interface Lease {
  job: string;
  holder: string;
  /** True while this holder's lease is confirmed and not about to expire. */
  held(): boolean;
  /** Why the lease was lost, once it was. */
  lostReason(): string | null;
  release(): Promise<void>;
}

export class JobLockedError extends Error {
  /** Fastify's error handler answers with this status. */
  readonly statusCode = 409;
  constructor(readonly job: string, readonly holder: string | null) {
    super(`model job '${job}' is running elsewhere${holder ? ` (holder ${holder})` : ''}; try again when it finishes`);
    this.name = 'JobLockedError';
  }
}

interface ServerNow { now: string }

const toMs = (chTime: string): number => Date.parse(chTime.replace(' ', 'T') + 'Z');

export class JobLock {
  readonly leaseMs: number;
  readonly settleMs: number;

  constructor(private readonly ch: ClickHouse, private readonly opts: JobLockOptions = {}) {
    this.leaseMs = opts.leaseMs ?? 60_000;
    this.settleMs = opts.settleMs ?? 1000;
    if (this.leaseMs < this.settleMs * 6) throw new Error('lock lease must be at least six settle periods');
  }

  /** The current owner of a job's lock, or null when nobody holds it. */
  async owner(job: string): Promise<string | null> {
    const [row] = await this.ch.rows<{ holder: string }>(
      `SELECT holder, min(claimed_at) AS c FROM model_locks WHERE job = {job:String}
       GROUP BY holder HAVING max(released) = 0 AND max(expires_at) > now64(6)
       ORDER BY c, holder LIMIT 1`,
      { job },
    );
    return row?.holder ?? null;
  }

  /** Takes the job's lock, or returns null when another holder has it (or the claim was too slow to trust). */
  async acquire(job: string): Promise<Lease | null> {
    const holder = `${os.hostname()}:${process.pid}:${crypto.randomBytes(6).toString('hex')}`;
    await this.ch.exec(
      `INSERT INTO model_locks (job, holder, claimed_at, expires_at)
       SELECT {job:String}, {holder:String}, now64(6), now64(6) + toIntervalMillisecond({lease:UInt32})`,
      { job, holder, lease: this.leaseMs },
    );
    const [mine] = await this.ch.rows<{ claimed_at: string; expires_at: string; now: string }>(
      `SELECT min(claimed_at) AS claimed_at, max(expires_at) AS expires_at, now64(6) AS now
       FROM model_locks WHERE job = {job:String} AND holder = {holder:String}`,
      { job, holder },
    );
    const localAt = Date.now();
    if (!mine || toMs(mine.now) - toMs(mine.claimed_at) > this.settleMs / 2) {
      this.opts.log?.warn({ job }, 'lock claim took too long to become visible; not taking the lock');
      await this.writeRelease(job, holder);
      return null;
    }
    // Every claim older than ours is visible by now (see the comment at the top).
    await new Promise((r) => setTimeout(r, this.settleMs));
    const owner = await this.owner(job);
    if (owner !== holder) {
      await this.writeRelease(job, holder);
      return null;
    }
    return new HeldLease(this, job, holder, localAt + (toMs(mine.expires_at) - toMs(mine.now)) - this.settleMs);
  }

  /** Extends a lease still valid for more than `settle`; returns the new local deadline, or null if lost. */
  async renew(job: string, holder: string): Promise<number | null> {
    await this.ch.exec(
      `INSERT INTO model_locks (job, holder, claimed_at, expires_at)
       SELECT job, holder, min(claimed_at), now64(6) + toIntervalMillisecond({lease:UInt32})
       FROM model_locks WHERE job = {job:String} AND holder = {holder:String}
       GROUP BY job, holder
       HAVING max(released) = 0 AND max(expires_at) > now64(6) + toIntervalMillisecond({settle:UInt32})`,
      { job, holder, lease: this.leaseMs, settle: this.settleMs },
    );
    const [row] = await this.ch.rows<{ expires_at: string; now: string }>(
      `SELECT max(expires_at) AS expires_at, now64(6) AS now FROM model_locks WHERE job = {job:String} AND holder = {holder:String}`,
      { job, holder },
    );
    const localAt = Date.now();
    if (!row) return null;
    const renewedAt = toMs(row.expires_at) - this.leaseMs;
    // The renewal must have happened just now (not skipped, not slow), or the lease cannot be trusted.
    if (toMs(row.now) - renewedAt > this.settleMs / 2) return null;
    return localAt + (toMs(row.expires_at) - toMs(row.now)) - this.settleMs;
  }

  async writeRelease(job: string, holder: string): Promise<void> {
    await this.ch.insert('model_locks', [{ job, holder, claimed_at: '1970-01-01 00:00:00', expires_at: '1970-01-01 00:00:00', released: 1 }]);
  }

  get log(): Logger | undefined {
    return this.opts.log;
  }
}

class HeldLease implements Lease {
  private lost: string | null = null;
  private released = false;
  private readonly timer: NodeJS.Timeout;
  private renewing: Promise<void> | null = null;

  constructor(private readonly lock: JobLock, readonly job: string, readonly holder: string, private until: number) {
    this.timer = setInterval(() => {
      this.renewing ??= this.renew().finally(() => (this.renewing = null));
    }, Math.floor(lock.leaseMs / 3));
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (this.released || this.lost) return;
    try {
      const until = await this.lock.renew(this.job, this.holder);
      if (until === null) this.lose('lease renewal was not confirmed in time');
      else this.until = until;
    } catch (err) {
      // Keep the old deadline: held() turns false by itself once it passes.
      this.lock.log?.warn({ err, job: this.job }, 'lock renewal failed');
    }
  }

  private lose(reason: string): void {
    this.lost = reason;
    clearInterval(this.timer);
    this.lock.log?.warn({ job: this.job, reason }, 'model job lock lost');
  }

  held(): boolean {
    if (this.lost || this.released) return false;
    if (Date.now() >= this.until) this.lose('lease expired');
    return this.lost === null;
  }

  lostReason(): string | null {
    this.held();
    return this.lost;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    await this.renewing;
    await this.lock.writeRelease(this.job, this.holder);
  }
}
