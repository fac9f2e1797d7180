// Fault: records on the log that no collector wrote (a bad producer, a truncated write, a foreign tool):
// appended straight to the log between real collector batches. Each one becomes one dead-letter row in
// events_rejected with the raw payload; the events around them are stored exactly once.
import { expect, it } from 'vitest';
import { waitForDrain } from '../../bin/runtime.ts';
import { testRuntime } from '../helpers/runtime.ts';
import { Ledger, audit, viaInject } from './helpers/stream.ts';
import { recordFault } from './helpers/report.ts';

const GARBAGE = [
  'not json at all',
  '{"v":1,"site":"demo","received_at":17',
  '[1,2,3]',
  'null',
  '',
  '{"v":1,"event":{"type":"page_view"}}',
  '{"v":1,"site":42,"received_at":"yesterday"}',
  '\u0000\u0001\uFFFD binary-ish \uD800',
  JSON.stringify({ junk: 'x'.repeat(200_000) }),
];

it('malformed records on the log go to events_rejected; the rest is stored once', async () => {
  const t0 = Date.now();
  const rt = await testRuntime({ CVM_TRANSFORM_FLUSH_MS: '50', CVM_RATE_LIMIT_PER_MINUTE: '10000000' });
  try {
    const post = viaInject(rt.app!);
    const ledger = new Ledger('mal');
    const topic = rt.deps.config.topics.events;
    let appended = 0;
    for (let round = 0; round < 6; round++) {
      await ledger.stream(post, { senders: 2, until: () => false, maxBatches: 4 });
      const junk = GARBAGE.map((value, i) => ({ key: `junk-${round}-${i}`, value }));
      await rt.eventLog!.append(topic, junk);
      appended += junk.length;
    }
    expect(await waitForDrain(rt, 60_000)).toBe(true);

    const [dl] = await rt.deps.ch.rows<{ n: string; u: string; reasons: string[] }>(
      "SELECT count() AS n, uniqExact(log_offset) AS u, groupUniqArray(reason) AS reasons FROM events_rejected WHERE source = 'log'",
    );
    expect(Number(dl!.n)).toBe(appended);
    expect(Number(dl!.u)).toBe(appended);
    for (const r of dl!.reasons) expect(r).toMatch(/^malformed log record/);

    recordFault(
      6,
      'malformed records appended straight to the log',
      await audit(rt.deps.ch, ledger),
      `${appended} foreign records (not JSON, truncated, wrong shape, binary, 200 KB) between collector batches → ${dl!.n} dead-letter rows, one per record, reason "malformed log record"`,
      t0,
    );
  } finally {
    await rt.close();
  }
});
