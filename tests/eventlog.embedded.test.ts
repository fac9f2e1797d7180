// The embedded durable log passes the same contract as Kafka, plus its own bounds.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeEventLogContract } from './helpers/eventlog-contract.ts';
import { EmbeddedEventLog, isDiskFull } from '../lib/eventlog/embedded.ts';
import { LogFullError } from '../lib/eventlog/types.ts';
import { initLogging } from '../lib/logger.ts';
import { tempDir } from './helpers/runtime.ts';

const log = initLogging({ level: 'silent' });

async function open(maxBytes = 64 * 1024 * 1024, retentionMs = 3600_000) {
  const dir = tempDir('cvm-log-');
  const eventLog = await EmbeddedEventLog.open({ dir, maxBytes, retentionMs, log, pollMs: 20 });
  return { log: eventLog, dir, cleanup: async () => { await eventLog.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

describeEventLogContract('embedded', () => open());

describe('embedded log bounds', () => {
  it('refuses appends with LogFullError when full, and takes them again once consumed records are trimmed', async () => {
    const { log: l, cleanup } = await open(1024 * 1024, 0);
    const big = 'x'.repeat(100_000);
    for (let i = 0; i < 9; i++) await l.append('t', [{ key: 'k', value: big }]);
    await expect(l.append('t', [{ key: 'k', value: big }, { key: 'k', value: big }])).rejects.toBeInstanceOf(LogFullError);
    let seen = 0;
    const consumer = await l.consume({ topic: 't', group: 'g', maxWaitMs: 10, handler: async (b) => { seen += b.records.length; } });
    while (seen < 9) await new Promise((r) => setTimeout(r, 20));
    await consumer.stop();
    expect(await l.trim()).toBe(9);
    await l.append('t', [{ key: 'k', value: big }]);
    expect(l.bytes('t')).toBeLessThan(200_000);
    await cleanup();
  });

  it('tells a full disk by the error code, not by the message', () => {
    // lmdb's native layer puts the errno in `code` as a number: a full 1 MiB tmpfs fails the commit with
    // EIO (5), "Input/output error"; a write() that finds no room gives ENOSPC (28). Node's fs says 'ENOSPC'.
    const lmdb = (message: string, code: number) => Object.assign(new Error(message), { code });
    expect(isDiskFull(lmdb('Input/output error', 5))).toBe(true);
    expect(isDiskFull(lmdb('No space left on device', 28))).toBe(true);
    expect(isDiskFull(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }))).toBe(true);
    expect(isDiskFull(lmdb('MDB_MAP_FULL: Environment mapsize limit reached', -30792))).toBe(false);
    // A message that only mentions it is not a full disk.
    expect(isDiskFull(new Error('event log cannot write: No space left on device (EIO)'))).toBe(false);
    expect(isDiskFull(lmdb('Permission denied', 13))).toBe(false);
    expect(isDiskFull('ENOSPC')).toBe(false);
  });

  it('never trims what a group has not consumed', async () => {
    const { log: l, cleanup } = await open(64 * 1024 * 1024, 0);
    await l.append('t', [{ key: 'k', value: 'a' }, { key: 'k', value: 'b' }]);
    await l.consume({ topic: 't', group: 'slow', handler: () => new Promise(() => {}) });
    expect(await l.trim()).toBe(0);
    expect((await l.lag('t', 'slow'))[0]!.lag).toBe(2);
    await cleanup();
  });
});
