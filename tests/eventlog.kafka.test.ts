// The Kafka event log against librdkafka's mock cluster (started through kcat): the shared contract,
// then what only Kafka has: several partitions, and members of one group sharing them.
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaEventLog, RecordTooLargeError, mapAppendError, type KafkaGroupConsumer } from '../lib/eventlog/kafka.ts';
import { LogFullError } from '../lib/eventlog/types.ts';
import { initLogging } from '../lib/logger.ts';
import { Received, describeEventLogContract, expectPerKeyOrder, keyedRecords, pause, payload, values, waitFor } from './helpers/eventlog-contract.ts';
import { KCAT_MISSING, kcatAvailable, startKafkaMock, type KafkaMock } from './helpers/kafka-mock.ts';

const available = kcatAvailable();
if (!available) console.warn(KCAT_MISSING);

const log = initLogging({ level: 'warn' });

describe.skipIf(!available)('kafka event log (librdkafka mock cluster)', () => {
  let mock: KafkaMock;
  beforeAll(async () => {
    mock = await startKafkaMock();
  });
  afterAll(async () => {
    await mock?.stop();
  });

  // NOTE: idempotent: false only because the mock cluster names a controller (id 0) that does not exist,
  // and kafkajs asks the controller for the idempotent producer id. Real brokers keep the default (true).
  // The mock holds every rebalance after the first for session timeout - 1 s (a real broker ends it once all
  // members rejoined), hence a short session here.
  const connect = () =>
    KafkaEventLog.connect(
      { brokers: mock.brokers, clientId: 'cvm-test', idempotent: false, sessionTimeoutMs: 3000, heartbeatIntervalMs: 500 },
      log,
    );

  // Concurrent: each test spends most of its time in the mock's 3 s group-join delay.
  describeEventLogContract(
    'kafka',
    async () => {
      const kafkaLog = await connect();
      return { log: kafkaLog, cleanup: () => kafkaLog.close() };
    },
    { concurrent: true },
  );

  /** A connected log for one test, closed (with its consumers) however the test ends. */
  const withKafka = (test: (kafkaLog: KafkaEventLog) => Promise<void>) => async () => {
    const kafkaLog = await connect();
    try {
      await test(kafkaLog);
    } finally {
      await kafkaLog.close();
    }
  };

  describe.concurrent('kafka specifics', () => {

    it('spreads keys over the partitions and keeps each key on one partition, in order', withKafka(async (kafkaLog) => {
      const topic = `parts-${randomUUID().slice(0, 8)}`;
      const run = randomUUID();
      const sent = [...keyedRecords(40, 3, run), ...keyedRecords(40, 2, run, 3)];
      await kafkaLog.append(topic, sent.slice(0, 120));
      await kafkaLog.append(topic, sent.slice(120));
      const got = new Received();
      await kafkaLog.consume({ topic, group: 'g', maxBatch: 50, maxWaitMs: 100, handler: async (b) => got.add(b) });
      await waitFor(() => got.count >= sent.length, 'all records');
      await pause(300);

      expect(values(got.records)).toEqual(values(sent));
      expectPerKeyOrder(got.records);
      const partitionOf = new Map<string, Set<number>>();
      for (const b of got.batches) for (const r of b.records) partitionOf.set(r.key, (partitionOf.get(r.key) ?? new Set()).add(b.partition));
      for (const [key, parts] of partitionOf) expect(parts.size, `key ${key}`).toBe(1);
      const used = new Set(got.batches.map((b) => b.partition));
      // The mock auto-creates topics with 4 partitions; 40 keys hashed by murmur2 reach more than one.
      expect(used.size).toBeGreaterThan(1);
      const lag = await kafkaLog.lag(topic, 'g');
      expect(lag.length).toBe(4);
      expect(lag.reduce((n, p) => n + p.high, 0)).toBe(sent.length);
    }));

    it('two members of one group split the partitions, handle each record once, and take over on leave', withKafka(async (kafkaLog) => {
      const topic = `split-${randomUUID().slice(0, 8)}`;
      const group = `g-${randomUUID().slice(0, 8)}`;
      const a = new Received();
      const b = new Received();
      const ca = await kafkaLog.consume({ topic, group, maxBatch: 20, maxWaitMs: 100, handler: async (x) => a.add(x) });
      const cb = await kafkaLog.consume({ topic, group, maxBatch: 20, maxWaitMs: 100, handler: async (x) => b.add(x) });
      await waitFor(() => {
        const pa = ca.partitions();
        const pb = cb.partitions();
        return pa.length > 0 && pb.length > 0 && pa.length + pb.length === 4 && !pa.some((p) => pb.includes(p));
      }, 'both members to hold disjoint partitions', 30_000);
      const aParts = ca.partitions();
      const bParts = cb.partitions();

      const run = randomUUID();
      const sent = keyedRecords(30, 4, run);
      await kafkaLog.append(topic, sent);
      await waitFor(() => a.count + b.count >= sent.length, 'all records handled by the group');
      await pause(300);

      expect(a.count).toBeGreaterThan(0);
      expect(b.count).toBeGreaterThan(0);
      for (const x of a.batches) expect(aParts).toContain(x.partition);
      for (const x of b.batches) expect(bParts).toContain(x.partition);
      const positions = [...a.positions(), ...b.positions()];
      expect(positions.length).toBe(new Set(positions).size);
      expect(values([...a.records, ...b.records])).toEqual(values(sent));

      // B leaves: A gets all partitions and continues from B's commits, not from the start.
      await cb.stop();
      await waitFor(() => ca.partitions().length === 4, 'A to take over all partitions', 30_000);
      const more = keyedRecords(30, 2, run, 4);
      const aBefore = a.count;
      await kafkaLog.append(topic, more);
      await waitFor(() => a.count - aBefore >= more.length, 'A to handle the new records');
      await pause(300);
      const taken = a.records.slice(aBefore);
      expect(values(taken)).toEqual(values(more));
      expect(taken.every((r) => payload(r).seq >= 4)).toBe(true);
      await ca.stop();
    }));

    it('heartbeats while a handler works longer than the session timeout, so the member keeps its partitions', withKafka(async (kafkaLog) => {
      const topic = `slow-${randomUUID().slice(0, 8)}`;
      const group = `g-${randomUUID().slice(0, 8)}`;
      const sent = keyedRecords(1, 10, randomUUID());
      await kafkaLog.append(topic, sent);
      const got = new Received();
      let calls = 0;
      const c = await kafkaLog.consume({
        topic, group, maxBatch: 100, maxWaitMs: 100,
        handler: async (b) => {
          calls++;
          if (calls === 1) await pause(4500); // session timeout is 3000 ms in these tests
          got.add(b);
        },
      });
      expect(c.partitions()).toEqual([0, 1, 2, 3]);
      const joinsAtStart = c.groupJoins();
      await waitFor(() => got.count >= sent.length, 'all records');
      await waitFor(async () => (await kafkaLog.lag(topic, group)).reduce((n, p) => n + p.lag, 0) === 0, 'lag 0');
      await pause(500);
      // Evicted for silence, the member would have rejoined and got the uncommitted batch a second time.
      expect(c.groupJoins()).toBe(joinsAtStart);
      expect(calls).toBe(1);
      expect(got.positions().length).toBe(sent.length);
      expect(values(got.records)).toEqual(values(sent));
    }));

    // The flaky reliability test (issue 20): kafkajs hands a member every batch of a fetch before it rejoins, so
    // a member that heard of a rebalance went on storing up to one batch per partition first, kept the group
    // waiting past the broker's join window and its own session, and the joining member waited with it.
    it('a member asked to rebalance hands no further batches of its fetch to the handler and rejoins at once', withKafka(async (kafkaLog) => {
      const topic = `rejoin-${randomUUID().slice(0, 8)}`;
      const group = `g-${randomUUID().slice(0, 8)}`;
      // Records on all 4 partitions before A starts: its first fetch brings one batch per partition.
      const sent = keyedRecords(40, 2, randomUUID());
      await kafkaLog.append(topic, sent);
      let a: KafkaGroupConsumer | undefined;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const calls: Array<{ partition: number; joins: number }> = [];
      a = await kafkaLog.consume({
        topic, group, maxBatch: 100, maxWaitMs: 100,
        handler: async (b) => {
          calls.push({ partition: b.partition, joins: a?.groupJoins() ?? 0 });
          if (calls.length === 1) await gate; // holds the first batch while B asks to join
        },
      });
      await waitFor(() => calls.length === 1, 'A to hold its first batch', 30_000);
      const joinsBefore = a.groupJoins();
      const got = new Received();
      const joining = kafkaLog.consume({ topic, group, maxBatch: 100, maxWaitMs: 100, handler: async (x) => got.add(x) });
      await waitFor(() => a!.rebalancePending(), 'A to hear of the rebalance', 30_000);
      release();
      const b = await joining;
      await waitFor(() => a!.groupJoins() > joinsBefore && b.partitions().length > 0, 'both to hold partitions', 30_000);
      // Only the batch in hand when the rebalance began was handled in the old generation.
      expect(calls.filter((c) => c.joins === joinsBefore).map((c) => c.partition)).toEqual([calls[0]!.partition]);
      await waitFor(async () => (await kafkaLog.lag(topic, group)).reduce((n, p) => n + p.lag, 0) === 0, 'lag 0', 30_000);
      await b.stop();
      await a.stop();
    }));

    it('ensureTopic reports false quickly where the cluster cannot create topics (the mock)', withKafka(async (kafkaLog) => {
      const t0 = Date.now();
      expect(await kafkaLog.ensureTopic(`made-${randomUUID().slice(0, 8)}`, 8)).toBe(false);
      expect(Date.now() - t0).toBeLessThan(5000);
    }));
  });
});

// Error mapping runs on the errors kafkajs builds from broker error codes; it needs no broker.
describe('kafka append error mapping', () => {
  const protocolError = (type: string, code: number, retriable: boolean) =>
    new kafkajs.KafkaJSProtocolError(Object.assign(new Error(`broker said ${type}`), { type, code, retriable }));

  it('a broker out of disk (KAFKA_STORAGE_ERROR, after retries) is a full log', () => {
    const err = new kafkajs.KafkaJSNumberOfRetriesExceeded(protocolError('KAFKA_STORAGE_ERROR', 56, true), { retryCount: 5, retryTime: 100 });
    const mapped = mapAppendError(err, 'cvm.events.raw');
    expect(mapped).toBeInstanceOf(LogFullError);
    expect(mapped.message).toContain('cvm.events.raw');
    expect(mapped.cause).toBe(err);
  });

  it('MESSAGE_TOO_LARGE and RECORD_LIST_TOO_LARGE are RecordTooLargeError', () => {
    for (const [type, code] of [['MESSAGE_TOO_LARGE', 10], ['RECORD_LIST_TOO_LARGE', 18]] as const) {
      const err = new kafkajs.KafkaJSNonRetriableError(protocolError(type, code, false));
      // kafkajs keeps the protocol error as cause when it gives up
      (err as { cause?: unknown }).cause = protocolError(type, code, false);
      const mapped = mapAppendError(err, 't');
      expect(mapped).toBeInstanceOf(RecordTooLargeError);
      expect(mapped.message).toContain(type);
    }
  });

  it('other failures pass through unchanged', () => {
    const err = protocolError('NOT_LEADER_FOR_PARTITION', 6, true);
    expect(mapAppendError(err, 't')).toBe(err);
    const plain = new Error('connection refused');
    expect(mapAppendError(plain, 't')).toBe(plain);
  });
});
