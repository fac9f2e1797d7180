// Fault: kill -9 of cvm's whole process group while events stream in, then `cvm start` again at once, as
// systemd `Restart=always` or a container runtime does. The lock must not be taken for held by a dead
// process: not by the zombie its parent has not reaped yet, nor by a stale pid that now belongs to another
// live process (pid reuse, pid 1 in a container).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { tempDir, ADMIN, WRITE } from '../helpers/runtime.ts';
import { waitForHealthyDrain } from '../helpers/cvm-process.ts';
import { connectClickHouse } from '../../lib/clickhouse.ts';
import { testConfig } from '../../lib/config.ts';
import { Ledger, audit, viaFetch, waitFor } from './helpers/stream.ts';
import { recordFault } from './helpers/report.ts';
import { procState, startCvmGroup, type CvmGroup } from './helpers/cvm-group.ts';

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

function track(g: CvmGroup): CvmGroup {
  cleanup.push(() => {
    g.killGroup('SIGKILL');
    g.dispose();
  });
  return g;
}

const envFor = (dir: string) => ({ CVM_DATA_DIR: dir, CVM_ADMIN_KEY: ADMIN, CVM_DEMO_WRITE_KEY: WRITE, CVM_TRANSFORM_FLUSH_MS: '100', CVM_RATE_LIMIT_PER_MINUTE: '10000000' });

/** Streams until `ackedAtLeast` events were acknowledged, then kill -9 of the group, streaming on. */
async function streamAndKill(first: CvmGroup, ledger: Ledger, ackedAtLeast: number): Promise<void> {
  const url = await first.ready;
  let stop = false;
  const streaming = ledger.stream(viaFetch(url), { senders: 4, until: () => stop });
  await waitFor(`${ackedAtLeast} acknowledged events`, () => ledger.acknowledged.size >= ackedAtLeast, 60_000);
  first.killGroup('SIGKILL');
  stop = true;
  await streaming;
}

/** The restarted cvm takes more events, drains, stops cleanly; then the store is audited. */
async function finishAndAudit(dir: string, again: CvmGroup, ledger: Ledger, order: number, fault: string, t0: number): Promise<void> {
  const url = await again.ready;
  const before = ledger.acknowledged.size;
  await ledger.stream(viaFetch(url), { senders: 2, until: () => ledger.acknowledged.size >= before + 200 });
  expect(ledger.acknowledged.size).toBeGreaterThan(before);
  await waitForHealthyDrain(url, 90_000);
  again.killGroup('SIGTERM');
  expect(await again.exited).toBe(0);
  const ch = await connectClickHouse(testConfig({ CVM_DATA_DIR: dir }));
  try {
    recordFault(order, fault, await audit(ch, ledger), `4 senders of 25-event batches, restart with no pause; answers: ${ledger.statusSummary()}`, t0);
  } finally {
    await ch.close();
  }
}

it('a cvm killed -9 and not yet reaped (a zombie) does not stop the restart', async () => {
  const t0 = Date.now();
  const dir = tempDir('cvm-rel-restart-');
  const ledger = new Ledger('rs');
  const first = track(await startCvmGroup(envFor(dir), { reaper: false }));
  await streamAndKill(first, ledger, 300);
  const again = track(await startCvmGroup(envFor(dir))); // no pause
  // The scenario of the defect: the old cvm is a zombie now, and stays one while the new one starts.
  await waitFor('the killed cvm to be a zombie', () => procState(first.pid) === 'Z', 10_000);
  await finishAndAudit(dir, again, ledger, 10, 'kill -9 of the process group, restart at once (old cvm still a zombie)', t0);
  expect(procState(first.pid)).toBe('Z');
});

it('a stale cvm.pid naming an unrelated live process does not stop the restart', async () => {
  const t0 = Date.now();
  const dir = tempDir('cvm-rel-stalepid-');
  const ledger = new Ledger('sp');
  const first = track(await startCvmGroup(envFor(dir)));
  await streamAndKill(first, ledger, 300);
  // Another process got the pid (or cvm was pid 1 in its container): what a pid lock would have read.
  const unrelated = spawn('sleep', ['60'], { stdio: 'ignore' });
  cleanup.push(() => unrelated.kill('SIGKILL'));
  fs.writeFileSync(path.join(dir, 'cvm.pid'), String(unrelated.pid));
  const again = track(await startCvmGroup(envFor(dir)));
  await finishAndAudit(dir, again, ledger, 11, 'kill -9 of the process group, restart over a cvm.pid naming a live unrelated process', t0);
  expect(unrelated.exitCode).toBeNull();
  expect(await first.exited).toBeNull(); // it died of the signal
});
