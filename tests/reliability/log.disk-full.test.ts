// Fault: the disk under the embedded log is full. The log lives on a 2 MiB tmpfs (mounted as root; where
// mounting is not allowed the test says so and bounds the log with CVM_LOG_MAX_BYTES instead). ClickHouse
// inserts are held back meanwhile, so the log cannot drain and the disk really fills. The collector must
// answer 503 (not crash, not acknowledge what it could not write), and recover once the log drains.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, expect, it, vi } from 'vitest';
import { waitForDrain } from '../../bin/runtime.ts';
import { tempDir, testRuntime } from '../helpers/runtime.ts';
import { Ledger, audit, viaInject } from './helpers/stream.ts';
import { recordFault } from './helpers/report.ts';

const mounted: string[] = [];
afterAll(() => {
  for (const dir of mounted) spawnSync('umount', ['-l', dir]);
});

function mountTmpfs(dir: string, size: string): string | null {
  fs.mkdirSync(dir, { recursive: true });
  const res = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (res.status === 0) mounted.push(dir);
  return res.status === 0 ? null : (res.stderr || res.error?.message || `mount exited ${res.status}`).trim();
}

it('a full disk under the log gives 503s, loses nothing acknowledged, and recovers', async () => {
  const t0 = Date.now();
  const dir = tempDir('cvm-rel-diskfull-');
  const logDir = path.join(dir, 'log');
  const mountError = mountTmpfs(logDir, '2m');
  if (mountError) console.warn(`tmpfs mount not possible (${mountError}): bounding the log with CVM_LOG_MAX_BYTES=1 MiB instead of a full disk`);
  const rt = await testRuntime({
    CVM_DATA_DIR: dir,
    CVM_TRANSFORM_FLUSH_MS: '50',
    CVM_RATE_LIMIT_PER_MINUTE: '10000000',
    ...(mountError ? { CVM_LOG_MAX_BYTES: String(1024 * 1024) } : {}),
  });
  try {
    const post = viaInject(rt.app!);
    const ledger = new Ledger('df');
    await ledger.stream(post, { senders: 2, until: () => false, maxBatches: 5 });
    expect(await waitForDrain(rt, 30_000)).toBe(true);

    await rt.deps.ch.exec('ALTER TABLE events ADD CONSTRAINT hold_back_inserts CHECK length(toString(event_id)) = 0');
    // lmdb prints every failed commit with console.error; count them instead of flooding the output.
    let lmdbErrors = 0;
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => void lmdbErrors++);
    let refusedSince = 0;
    await ledger.stream(post, {
      senders: 2,
      maxBatches: 600,
      until: () => {
        if (ledger.count('503 log_full') > 0 && !refusedSince) refusedSince = Date.now();
        return refusedSince > 0 && Date.now() - refusedSince > 1000;
      },
    });
    const refused = ledger.count('503 log_full');
    expect(refused).toBeGreaterThan(0);
    const df = mountError ? null : spawnSync('df', ['-k', logDir], { encoding: 'utf8' }).stdout.trim().split('\n').pop()?.split(/\s+/);

    await rt.deps.ch.exec('ALTER TABLE events DROP CONSTRAINT hold_back_inserts');
    quiet.mockRestore();
    expect(await waitForDrain(rt, 60_000)).toBe(true);
    const before = ledger.count('200');
    await ledger.stream(post, { senders: 2, until: () => false, maxBatches: 10 });
    expect(ledger.count('200') - before).toBe(20);
    expect(await waitForDrain(rt, 30_000)).toBe(true);

    recordFault(
      5,
      mountError ? 'event log full (log budget; tmpfs mount not permitted here)' : 'disk under the embedded log full (2 MiB tmpfs)',
      await audit(rt.deps.ch, ledger),
      `${refused} requests answered 503 log_full (${lmdbErrors} failed LMDB commits)${df ? ` with the tmpfs at ${df[2]} of ${df[1]} KiB used` : ''}; ClickHouse inserts held back meanwhile so the log could not drain; then it drained, the 512 KiB reserve file gave LMDB room to drop consumed records, and the collector accepted again without a restart; answers: ${ledger.statusSummary()}`,
      t0,
    );
  } finally {
    await rt.close();
  }
});
