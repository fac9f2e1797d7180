// Fault: the group coordinator answers a member's SyncGroup with a non-retriable error (INVALID_REQUEST), as
// librdkafka's mock does for a request it does not expect in the group's state. kafkajs then crashes the consumer
// and, the error being non-retriable, never restarts it (its restartOnFailure is only asked about retriable ones):
// the member would sit outside the group for good, its share of the partitions unread. The event log's consumer
// restarts it itself; every record is handled, once.
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { KafkaEventLog } from '../../lib/eventlog/kafka.ts';
import type { LogBatch } from '../../lib/eventlog/types.ts';
import { initLogging } from '../../lib/logger.ts';
import { waitFor } from './helpers/stream.ts';
import { mockClusterUnavailable, startMockCluster } from './helpers/mock-cluster.ts';

const unavailable = mockClusterUnavailable();
if (unavailable) console.warn(`Kafka consumer crash test SKIPPED: ${unavailable}. Install kcat (librdkafka) and python3.`);

const SYNC_GROUP = 14; // Kafka API key
const INVALID_REQUEST = 42; // Kafka error code, non-retriable for kafkajs

it.skipIf(unavailable !== null)('a consumer that crashes on a non-retriable group error is restarted and handles every record once', async () => {
  const mock = await startMockCluster(1);
  const log = initLogging({ level: 'silent' });
  const kafkaLog = await KafkaEventLog.connect(
    { brokers: mock.brokers, clientId: 'cvm-crash-test', idempotent: false, sessionTimeoutMs: 3000, heartbeatIntervalMs: 500 },
    log,
  );
  try {
    const topic = `crash-${randomUUID().slice(0, 8)}`;
    await mock.command(`topic ${topic} 4`);
    const records = Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
    await kafkaLog.append(topic, records);
    await mock.command(`fail ${SYNC_GROUP} ${INVALID_REQUEST} 1`);
    const seen: string[] = [];
    const consumer = await kafkaLog.consume({
      topic, group: `g-${randomUUID().slice(0, 8)}`, maxBatch: 100, maxWaitMs: 100,
      handler: async (b: LogBatch) => void seen.push(...b.records.map((r) => r.value)),
    });
    await waitFor('the consumer to join (after its restart) and handle every record', () => consumer.partitions().length === 4 && seen.length >= records.length, 60_000);
    expect(consumer.restarts()).toBeGreaterThan(0);
    expect([...seen].sort()).toEqual(records.map((r) => r.value).sort());
    await consumer.stop();
  } finally {
    await kafkaLog.close();
    await mock.stop();
  }
});
