// The embedded durable log passes the same contract as Kafka, plus its own bounds.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeEventLogContract } from './helpers/eventlog-contract.ts';
import { EmbeddedEventLog } from '../lib/eventlog/embedded.ts';
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

  it('never trims what a group has not consumed', async () => {
    const { log: l, cleanup } = await open(64 * 1024 * 1024, 0);
    await l.append('t', [{ key: 'k', value: 'a' }, { key: 'k', value: 'b' }]);
    await l.consume({ topic: 't', group: 'slow', handler: () => new Promise(() => {}) });
    expect(await l.trim()).toBe(0);
    expect((await l.lag('t', 'slow'))[0]!.lag).toBe(2);
    await cleanup();
  });
});
