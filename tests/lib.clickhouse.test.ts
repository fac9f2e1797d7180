// chDB keeps per-query settings for the rest of the process; the client wrapper must undo that, or an
// insert after a deduplicated one is silently dropped (this test failed before the wrapper reset them).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClickHouse, type ClickHouse } from '../lib/clickhouse.ts';
import { testConfig } from '../lib/config.ts';
import { tempDir } from './helpers/runtime.ts';

let ch: ClickHouse;
beforeAll(async () => {
  ch = await connectClickHouse(testConfig({ CVM_DATA_DIR: tempDir() }));
  await ch.exec('CREATE TABLE t (id String) ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100');
});
afterAll(async () => {
  await ch?.close();
});

describe('ClickHouse client wrapper', () => {
  it('a dedup token applies to its own insert only', async () => {
    await ch.insert('t', [{ id: 'a' }], { insert_deduplication_token: 'tok' });
    await ch.insert('t', [{ id: 'a' }], { insert_deduplication_token: 'tok' }); // a true re-delivery: dropped
    await ch.insert('t', [{ id: 'b' }]);
    await ch.insert('t', [{ id: 'c' }]);
    const rows = await ch.rows<{ id: string }>('SELECT id FROM t ORDER BY id');
    expect(rows.map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });

  it('a limit set for one query does not bind the next', async () => {
    await ch.rows('SELECT 1', {}, { max_result_rows: 1, result_overflow_mode: 'throw' });
    const rows = await ch.rows('SELECT number FROM numbers(5)');
    expect(rows).toHaveLength(5);
  });

  it('refuses readonly as a per-query setting (it could never be undone)', async () => {
    await expect(ch.rows('SELECT 1', {}, { readonly: 2 })).rejects.toThrow(/SETTINGS clause/);
    const ok = await ch.rows<{ x: number }>('SELECT 1 AS x SETTINGS readonly = 2');
    expect(ok[0]!.x).toBe(1);
    await ch.insert('t', [{ id: 'd' }]);
    expect((await ch.rows('SELECT id FROM t')).length).toBe(4);
  });
});
