// Two transformers of one Kafka group: B inserts a partition's records past A's last batch and dies
// before committing; A gets the partition back at its old offset with other batch boundaries. Nothing
// may be stored twice (a hole found by the reliability work; the mock broker's fetches hid it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventsTransformer } from '../transform/events.consumer.ts';
import { connectClickHouse, type ClickHouse } from '../lib/clickhouse.ts';
import { migrate } from '../lib/migrate.ts';
import { seedDefaultRates } from '../transform/fx.ts';
import { testConfig } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';
import type { EventLog, LogBatch, StoredRecord } from '../lib/eventlog/types.ts';
import { event } from './helpers/events.ts';
import { tempDir } from './helpers/runtime.ts';

const config = testConfig({ CVM_DATA_DIR: tempDir() });
const log = initLogging({ level: 'silent' });
let ch: ClickHouse;
const records: StoredRecord[] = Array.from({ length: 20 }, (_, i) => ({
  offset: i,
  key: 'k',
  timestamp: Date.now(),
  value: JSON.stringify({ v: 1, site: 'demo', received_at: Date.now(), source: 'server', event: event('page_view', { anonymous_id: `v${i}` }) }),
}));
const batch = (from: number, to: number): LogBatch => ({ topic: 'cvm.events.raw', partition: 3, firstOffset: from, lastOffset: to, records: records.slice(from, to + 1) });
// Only `kind` matters here: start() reads it to decide whether cached marks can be trusted.
const kafkaLike = (): EventLog => ({ kind: 'kafka', append: async () => {}, consume: async () => ({ stop: async () => {} }), lag: async () => [], close: async () => {} });

beforeAll(async () => {
  ch = await connectClickHouse(config);
  await migrate(ch);
  await seedDefaultRates(ch);
});
afterAll(async () => {
  await ch?.close();
});

describe('transformer rebalance', () => {
  it('re-reads the stored high-water mark when another member wrote the partition meanwhile', async () => {
    const a = new EventsTransformer({ ch, config, log });
    const b = new EventsTransformer({ ch, config, log });
    await a.start(kafkaLike());
    await b.start(kafkaLike());
    await a.handle(batch(0, 9));
    await b.handle(batch(10, 12)); // B dies here, uncommitted
    await a.handle(batch(10, 19)); // A gets the partition back at offset 10
    const [row] = await ch.rows<{ n: string; u: string }>('SELECT count() AS n, uniqExact(event_id) AS u FROM events');
    expect(Number(row!.u)).toBe(20);
    expect(Number(row!.n)).toBe(20);
  });
});
