// The same collector and transformer code with Kafka as the log: kafkajs against librdkafka's mock
// cluster, which speaks the real Kafka protocol. ClickHouse is chDB as everywhere in tests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purchase, daysAgo, event } from './helpers/events.ts';
import { ADMIN, WRITE, testRuntime } from './helpers/runtime.ts';
import { KCAT_MISSING, kcatAvailable, startKafkaMock, type KafkaMock } from './helpers/kafka-mock.ts';
import { waitForDrain, type Runtime } from '../bin/runtime.ts';

const available = kcatAvailable();
if (!available) console.warn(KCAT_MISSING);

describe.skipIf(!available)('pipeline on Kafka (librdkafka mock cluster)', () => {
  let mock: KafkaMock;
  let rt: Runtime;

  beforeAll(async () => {
    mock = await startKafkaMock();
    rt = await testRuntime({ KAFKA_BROKERS: mock.brokers.join(','), KAFKA_IDEMPOTENT: 'false', KAFKA_SESSION_TIMEOUT_MS: '3000' });
    expect(rt.eventLog!.kind).toBe('kafka');
  });
  afterAll(async () => {
    await rt?.close();
    await mock?.stop();
  });

  it('collector → Kafka → transformer → ClickHouse → RFM → API', async () => {
    const customers = Array.from({ length: 40 }, (_, i) => `k${i}`);
    const batch = customers.flatMap((c, i) => [
      purchase(c, daysAgo(1 + i), 10 + i),
      purchase(c, daysAgo(30 + i), 5),
      event('page_view', { anonymous_id: `anon-${c}` }),
    ]);
    const res = await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE }, payload: { batch } });
    expect(res.statusCode).toBe(200);
    expect(res.json().accepted).toBe(batch.length);
    // The same batch again (a client retry) must not double-count.
    await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE }, payload: { batch } });

    // Keys spread over the mock's 4 partitions; wait for the group to catch up on all of them.
    const deadline = Date.now() + 60_000;
    let n = 0;
    while (Date.now() < deadline) {
      const [row] = await rt.deps.ch.rows<{ n: string }>('SELECT count() AS n FROM events FINAL');
      n = Number(row!.n);
      if (n >= batch.length && (await waitForDrain(rt, 1000))) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(n).toBe(batch.length);
    const partitions = await rt.deps.ch.rows<{ p: number }>("SELECT DISTINCT log_partition AS p FROM events WHERE log_topic = 'cvm.events.raw'");
    expect(partitions.length).toBeGreaterThan(1);

    const [run] = await rt.models.run('rfm');
    expect(run!.status).toBe('ok');
    expect(run!.rowsWritten).toBe(40);
    const k0 = await rt.app!.inject({ method: 'GET', url: '/v1/customers/k0', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(k0.statusCode).toBe(200);
    expect(k0.json().rfm).toMatchObject({ frequency: 2, monetary: 15, r: 5 });
  });
});
