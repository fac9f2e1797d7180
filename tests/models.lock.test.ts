// Model job locks (models/lock.ts): two runners on one store never run the same job at the same time,
// a crashed holder's lease runs out, and a holder that lost its lease does not publish its run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';
import type { ClickHouse } from '../lib/clickhouse.ts';
import { openStore } from '../bin/runtime.ts';
import { JobLock, JobLockedError } from '../models/lock.ts';
import { ModelRunner } from '../models/runner.ts';
import type { ModelJob } from '../models/job.ts';
import { tempDir } from './helpers/runtime.ts';

const log = initLogging({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('model job lock on one ClickHouse store', () => {
  let ch: ClickHouse;
  const config = testConfig({ CVM_DATA_DIR: tempDir('cvm-lock-') });

  beforeAll(async () => {
    ch = await openStore(config, log);
  });
  afterAll(async () => {
    await ch?.close();
  });

  // settleMs must exceed the store's query latency under contention (chDB runs queries one at a time).
  it('gives the lock to exactly one of many simultaneous claims', async () => {
    const locks = Array.from({ length: 8 }, () => new JobLock(ch, { settleMs: 300, leaseMs: 3000 }));
    const leases = await Promise.all(locks.map((l) => l.acquire('race')));
    const winners = leases.filter((l) => l !== null);
    expect(winners).toHaveLength(1);
    expect(await locks[0]!.owner('race')).toBe(winners[0]!.holder);
    await winners[0]!.release();
    expect(await locks[0]!.owner('race')).toBeNull();
    // Free again: the next claim wins.
    const next = await locks[1]!.acquire('race');
    expect(next).not.toBeNull();
    await next!.release();
  });

  it('two runners never overlap on the same job', async () => {
    const intervals: Array<{ runner: string; start: number; end: number }> = [];
    const jobFor = (runner: string): ModelJob => ({
      name: 'slow',
      version: '1',
      async run({ ch: store }) {
        const start = performance.now();
        await store.rows('SELECT count() FROM events'); // real work on the shared store
        await sleep(150);
        intervals.push({ runner, start, end: performance.now() });
        return { rowsWritten: 0, params: {}, metrics: {} };
      },
    });
    const runners = ['a', 'b'].map((name) =>
      new ModelRunner({ ch, config, log, lock: new JobLock(ch, { settleMs: 200, leaseMs: 2000 }) }).register(jobFor(name)),
    );
    let locked = 0;
    let ok = 0;
    // Both runners fire at once, and again with a jitter, for a few rounds.
    for (let round = 0; round < 6; round++) {
      const outcomes = await Promise.allSettled(
        runners.map(async (r, i) => {
          await sleep(i === 0 ? 0 : (round * 37) % 120);
          return r.run('slow');
        }),
      );
      for (const o of outcomes) {
        if (o.status === 'fulfilled') ok += o.value.filter((run) => run.status === 'ok').length;
        else if (o.reason instanceof JobLockedError) locked += 1;
        else throw o.reason;
      }
    }
    const sorted = intervals.sort((x, y) => x.start - y.start);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.start).toBeGreaterThanOrEqual(sorted[i - 1]!.end);
    expect(ok).toBe(intervals.length);
    expect(ok).toBeGreaterThanOrEqual(6); // at least one run per round
    expect(locked).toBeGreaterThan(0); // and the other one was turned away at least once
    expect(ok + locked).toBe(12);
  });

  it('a crashed holder blocks the job only until its lease runs out', async () => {
    // What a scheduler that claimed the job and died leaves behind: a claim nobody renews or releases.
    await ch.exec(
      `INSERT INTO model_locks (job, holder, claimed_at, expires_at) SELECT 'crashy', 'dead-host:1:x', now64(6), now64(6) + toIntervalMillisecond(1500)`,
    );
    const lock = new JobLock(ch, { settleMs: 200, leaseMs: 1500 });
    expect(await lock.acquire('crashy')).toBeNull();
    expect(await lock.owner('crashy')).toBe('dead-host:1:x');
    await sleep(1600);
    const lease = await lock.acquire('crashy');
    expect(lease).not.toBeNull();
    await lease!.release();
  });

  it('a holder paused past its lease loses it, and its run is not published', async () => {
    const lock = new JobLock(ch, { settleMs: 200, leaseMs: 1200 });
    const stall: ModelJob = {
      name: 'stall',
      version: '1',
      async run() {
        // A stop-the-world pause: no renewal can run while the thread is blocked.
        const until = Date.now() + 1500;
        while (Date.now() < until) { /* blocked */ }
        return { rowsWritten: 1, params: {}, metrics: {} };
      },
    };
    const runner = new ModelRunner({ ch, config, log, lock }).register(stall);
    const [run] = await runner.run('stall');
    expect(run!.status).toBe('failed');
    expect(run!.error).toMatch(/lost the job lock/);
    // The lapsed lease is no obstacle for the next runner.
    const other = new JobLock(ch, { settleMs: 200, leaseMs: 1200 });
    const lease = await other.acquire('stall');
    expect(lease).not.toBeNull();
    await lease!.release();
  });

  it('renews a lease while a long job runs', async () => {
    const lock = new JobLock(ch, { settleMs: 200, leaseMs: 1200 });
    const lease = await lock.acquire('long');
    expect(lease).not.toBeNull();
    await sleep(2600); // more than two lease lengths
    expect(lease!.held()).toBe(true);
    expect(await new JobLock(ch, { settleMs: 200, leaseMs: 1200 }).acquire('long')).toBeNull();
    await lease!.release();
  });
});
