// Crash safety: kill -9 the whole embedded process while events stream in. After a restart, every event
// that got a 2xx is in `events` exactly once: count() = uniqExact(event_id) = acknowledged (plus any event
// whose request was in flight at the kill, which may or may not have been stored — never twice).
import { describe, expect, it } from 'vitest';
import { event } from './helpers/events.ts';
import { tempDir, ADMIN, WRITE } from './helpers/runtime.ts';
import { startCvm, waitForHealthyDrain } from './helpers/cvm-process.ts';
import { connectClickHouse } from '../lib/clickhouse.ts';
import { testConfig } from '../lib/config.ts';

describe('kill -9 mid-stream', () => {
  it('loses nothing acknowledged and stores nothing twice', async () => {
    const dir = tempDir('cvm-crash-');
    const env = { CVM_DATA_DIR: dir, CVM_ADMIN_KEY: ADMIN, CVM_DEMO_WRITE_KEY: WRITE, CVM_TRANSFORM_FLUSH_MS: '100' };
    const first = await startCvm(env);
    const acknowledged = new Set<string>();
    const attempted = new Set<string>();
    let stop = false;
    // Four concurrent senders of 25-event batches, until the kill.
    const sender = async (n: number) => {
      for (let i = 0; !stop; i++) {
        const batch = Array.from({ length: 25 }, () => event('product_view', { anonymous_id: `v${n}-${i % 7}` }, { product_id: `p${i % 13}` }));
        for (const e of batch) attempted.add(e.event_id);
        try {
          const res = await fetch(`${first.url}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-cvm-key': WRITE }, body: JSON.stringify({ batch }) });
          if (res.ok) for (const e of batch) acknowledged.add(e.event_id);
        } catch {
          return; // the process is gone
        }
      }
    };
    const senders = [0, 1, 2, 3].map(sender);
    await new Promise((r) => setTimeout(r, 2500));
    first.child.kill('SIGKILL');
    stop = true;
    await Promise.all(senders);
    await first.exited;
    expect(acknowledged.size).toBeGreaterThan(500);

    const second = await startCvm(env);
    await waitForHealthyDrain(second.url);
    second.child.kill('SIGTERM');
    await second.exited;

    const ch = await connectClickHouse(testConfig({ CVM_DATA_DIR: dir }));
    try {
      const [row] = await ch.rows<{ n: string; u: string }>('SELECT count() AS n, uniqExact(event_id) AS u FROM events');
      const stored = new Set((await ch.rows<{ id: string }>('SELECT toString(event_id) AS id FROM events')).map((r) => r.id));
      const lost = [...acknowledged].filter((id) => !stored.has(id));
      const strays = [...stored].filter((id) => !attempted.has(id));
      console.log(`crash test: acknowledged ${acknowledged.size}, stored ${row!.n} (unique ${row!.u}), lost ${lost.length}`);
      expect(lost).toEqual([]);
      expect(strays).toEqual([]);
      expect(Number(row!.n)).toBe(Number(row!.u));
      // Only requests in flight at the kill may add events beyond the acknowledged ones.
      expect(Number(row!.n) - acknowledged.size).toBeLessThanOrEqual(4 * 25);
    } finally {
      await ch.close();
    }
  }, 180_000);
});
