// Fault: ClickHouse refuses every insert into `events` (a CHECK constraint that no row meets, so the error
// is ClickHouse's own). The transformer retries the same batch with backoff and commits nothing; the log
// keeps every event and the collector keeps accepting until the log's budget is spent, then answers 503.
// Once ClickHouse takes inserts again, the backlog drains and the collector accepts again.
import { expect, it } from 'vitest';
import { waitForDrain } from '../../bin/runtime.ts';
import { testRuntime } from '../helpers/runtime.ts';
import { Ledger, audit, sleep, viaInject, waitFor } from './helpers/stream.ts';
import { recordFault } from './helpers/report.ts';

it('failing ClickHouse inserts are retried, then back-pressure 503s; nothing acknowledged is lost', async () => {
  const t0 = Date.now();
  const rt = await testRuntime({ CVM_LOG_MAX_BYTES: String(1024 * 1024), CVM_TRANSFORM_FLUSH_MS: '50', CVM_RATE_LIMIT_PER_MINUTE: '10000000' });
  try {
    const post = viaInject(rt.app!);
    const ledger = new Ledger('chf');
    const lag = async () => (await rt.eventLog!.lag(rt.deps.config.topics.events, 'transform')).reduce((n, p) => n + p.lag, 0);
    const failures = () => rt.transformer!.stats.failedBatches;
    // Healthy for a moment.
    await ledger.stream(post, { senders: 2, until: () => false, maxBatches: 10 });
    expect(await waitForDrain(rt, 30_000)).toBe(true);

    await rt.deps.ch.exec('ALTER TABLE events ADD CONSTRAINT injected_insert_failure CHECK length(toString(event_id)) = 0');
    // Keep sending until the log has been refusing for a while (bounded by maxBatches).
    let refusedSince = 0;
    const acceptedBefore = ledger.count('200');
    await ledger.stream(post, {
      senders: 2,
      maxBatches: 400,
      until: () => {
        if (ledger.count('503 log_full') > 0 && !refusedSince) refusedSince = Date.now();
        return refusedSince > 0 && Date.now() - refusedSince > 1000;
      },
    });
    const acceptedDuringFault = ledger.count('200') - acceptedBefore;
    const backlog = await lag();
    expect(ledger.count('503 log_full')).toBeGreaterThan(0);
    expect(acceptedDuringFault).toBeGreaterThan(0);
    expect(backlog).toBeGreaterThan(0);
    await waitFor('a failed insert attempt', () => failures() > 0, 10_000);
    const [{ n: storedDuringFault } = { n: '0' }] = await rt.deps.ch.rows<{ n: string }>('SELECT count() AS n FROM events');

    // ClickHouse recovers: the backlog drains and the collector takes events again.
    await rt.deps.ch.exec('ALTER TABLE events DROP CONSTRAINT injected_insert_failure');
    const recovering = Date.now();
    expect(await waitForDrain(rt, 60_000)).toBe(true);
    const drainSeconds = (Date.now() - recovering) / 1000;
    const before = ledger.count('200');
    await ledger.stream(post, { senders: 2, until: () => false, maxBatches: 10 });
    expect(ledger.count('200') - before).toBe(20);
    expect(await waitForDrain(rt, 30_000)).toBe(true);
    await sleep(100);

    recordFault(
      3,
      'ClickHouse refuses inserts (retried), log fills, then recovers',
      await audit(rt.deps.ch, ledger),
      `CVM_LOG_MAX_BYTES=1 MiB; during the fault ${acceptedDuringFault} batches accepted into the log (backlog ${backlog} records, ${storedDuringFault} events stored), then 503 log_full ×${ledger.count('503 log_full')}; ${failures()} failed insert attempts retried; backlog drained ${drainSeconds.toFixed(1)} s after recovery, collector accepting again`,
      t0,
    );
  } finally {
    await rt.close();
  }
});
