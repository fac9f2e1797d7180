// Several transformers in one consumer group split the partitions and never insert a record twice across
// a rebalance. Kafka is librdkafka's mock cluster (8 partitions); the transformers share one ClickHouse
// store (chDB binds a store to one process, so they run in this process, each with its own Kafka client).
//
//   A alone → B joins (split) and dies right after its first insert, before committing (its partitions go
//   back to A at the old offsets: the records B stored are handed over again) → C joins (split) → A stops
//   gracefully mid-stream (C takes everything) → drain. Then count() = uniqExact(event_id) = acknowledged,
//   without FINAL.
import { expect, it } from 'vitest';
import { testRuntime } from '../helpers/runtime.ts';
import pino from 'pino';
import { initLogging } from '../../lib/logger.ts';
import { openEventLog } from '../../lib/eventlog/index.ts';
import type { KafkaEventLog, KafkaGroupConsumer } from '../../lib/eventlog/kafka.ts';
import type { EventLog } from '../../lib/eventlog/types.ts';
import { SealedEventLog } from '../../lib/eventlog/sealed.ts';
import { sealDeadLetters } from '../../transform/rejects.ts';
import { EventsTransformer, TRANSFORM_GROUP } from '../../transform/events.consumer.ts';
import type { Runtime } from '../../bin/runtime.ts';
import { Ledger, audit, sleep, viaInject, waitFor } from './helpers/stream.ts';
import { recordFault } from './helpers/report.ts';
import { mockClusterUnavailable, startMockCluster } from './helpers/mock-cluster.ts';

const unavailable = mockClusterUnavailable();
if (unavailable) console.warn(`Kafka rebalance test SKIPPED: ${unavailable}. Install kcat (librdkafka) and python3.`);
// CVM_RELIABILITY_LOG=FILE: the members' and kafkajs's debug lines go there (joins, rebalances, failed batches).
const debugLog = process.env.CVM_RELIABILITY_LOG;
/** Events the group may be behind before the stream waits for it. */
const MAX_BACKLOG = 500;
const silent = debugLog ? initLogging({ level: 'debug', destination: pino.destination({ dest: debugLog, append: true }) }) : initLogging({ level: 'silent' });

interface Member {
  name: string;
  transformer: EventsTransformer;
  consumer: KafkaGroupConsumer;
  died: boolean;
  stop(): Promise<void>;
}

/** One transformer process's worth: its own Kafka client and consumer-group member, the shared store. */
async function member(rt: Runtime, name: string, opts: { dieAfterFirstInsert?: boolean; maxBatch?: number } = {}): Promise<Member> {
  const config = rt.deps.config;
  // Wired as bin/runtime.ts wires a transformer: records opened from the sealed log, dead letters sealed.
  const api = rt.deps.services;
  const memberLog = silent.child({ member: name });
  const kafka = (await openEventLog(config, memberLog)) as KafkaEventLog;
  const log: EventLog = api.subjectKeys ? new SealedEventLog(kafka, api.subjectKeys) : kafka;
  const transformer = new EventsTransformer({ ch: sealDeadLetters(rt.deps.ch, api.pii), config, log: memberLog, protectTraits: api.pii.protectTraits });
  const m = { name, transformer, died: false } as Member;
  // Started as in production (start() on a Kafka log re-reads the stored marks per batch); this member's view of
  // the log only sets its batch size and, for B, dies right after its first insert.
  const view: EventLog = {
    kind: log.kind,
    append: (topic, records) => log.append(topic, records),
    lag: (topic, group) => log.lag(topic, group),
    close: () => log.close(),
    consume: (o) =>
      log.consume({
        ...o,
        maxBatch: opts.maxBatch ?? o.maxBatch,
        handler: async (batch) => {
          await o.handler(batch);
          if (opts.dieAfterFirstInsert && transformer.stats.eventsOut > 0) {
            // Rows are in ClickHouse, the offset is not committed: what a kill -9 at this point leaves.
            m.died = true;
            void m.consumer.stop();
            throw new Error(`transformer ${name} died after its insert, before the commit`);
          }
        },
      }),
  };
  const consumer = (await transformer.start(view)) as KafkaGroupConsumer;
  m.consumer = consumer;
  m.stop = async () => {
    await consumer.stop();
    await log.close();
  };
  return m;
}

it.skipIf(unavailable !== null)('transformers in one group split partitions and never double-insert across rebalances', async () => {
  const t0 = Date.now();
  const mock = await startMockCluster(1);
  await mock.command('topic cvm.events.raw 8');
  const rt = await testRuntime(
    { KAFKA_BROKERS: mock.brokers.join(','), KAFKA_IDEMPOTENT: 'false', KAFKA_SESSION_TIMEOUT_MS: '3000', CVM_TRANSFORM_FLUSH_MS: '50', CVM_RATE_LIMIT_PER_MINUTE: '10000000' },
    { collector: true, transformer: false, scheduler: false, api: false },
  );
  const members: Member[] = [];
  /** waitFor that, on a timeout, says where each member stood (partitions, joins, rebalance, events stored). */
  const waitForGroup = (what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs?: number) =>
    waitFor(what, check, timeoutMs, everyMs).catch((err: Error) => {
      const state = members.map((m) => `${m.name}: partitions [${m.consumer.partitions().join(',')}], joins ${m.consumer.groupJoins()}, rebalance pending ${m.consumer.rebalancePending()}, died ${m.died}, batches ${m.transformer.stats.batches}, failed ${m.transformer.stats.failedBatches}, events stored ${m.transformer.stats.eventsOut}`);
      throw new Error(`${err.message}; ${state.join('; ')}`);
    });
  try {
    const ledger = new Ledger('rb');
    let stop = false;
    const lag = async () => (await rt.eventLog!.lag(rt.deps.config.topics.events, TRANSFORM_GROUP)).reduce((n, p) => n + p.lag, 0);
    // NOTE: librdkafka's mock broker answers a fetch with one record set per partition, so a transformer drains
    // a few hundred events per second here, and far fewer on a loaded machine: the stream waits while the group
    // is more than MAX_BACKLOG events behind, so the backlog (and the drain at the end) stays bounded.
    const paced = async () => {
      // A failed lag query (metadata moving during a rebalance) holds nobody back.
      while (!stop && (await lag().catch(() => 0)) > MAX_BACKLOG) await sleep(200);
    };
    const streaming = ledger.stream(viaInject(rt.app!), { senders: 1, size: 50, until: () => stop, pauseMs: 300, beforeSend: paced });

    const a = await member(rt, 'A');
    members.push(a);
    await waitForGroup('A to own all partitions and store events', () => a.consumer.partitions().length === 8 && a.transformer.stats.eventsOut > 50, 30_000);

    const b = await member(rt, 'B', { dieAfterFirstInsert: true, maxBatch: 3 });
    members.push(b);
    await waitForGroup('B to die after its first insert of new events', () => b.died, 30_000);
    const split1 = { a: a.consumer.partitions(), b: b.consumer.partitions() };
    const storedByB = b.transformer.stats.eventsOut;
    await waitForGroup('A to take B\'s partitions back', () => a.consumer.partitions().length === 8, 30_000);

    const c = await member(rt, 'C');
    members.push(c);
    await waitForGroup('C to join and store events', () => c.consumer.partitions().length > 0 && c.transformer.stats.eventsOut > 0, 30_000);
    const split2 = { a: a.consumer.partitions(), c: c.consumer.partitions() };
    await a.stop(); // mid-stream
    await waitForGroup('C to own all partitions', () => c.consumer.partitions().length === 8, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await streaming;

    await waitForGroup('the group to drain the topic', async () => (await lag()) === 0, 90_000, 250);

    for (const split of [split1, split2]) {
      const [x, y] = Object.values(split) as [number[], number[]];
      expect(x.length).toBeGreaterThan(0);
      expect(y.length).toBeGreaterThan(0);
      expect(x.filter((p) => y.includes(p))).toEqual([]);
    }
    expect(storedByB).toBeGreaterThan(0);
    const fmt = (s: Record<string, number[]>) => Object.entries(s).map(([k, v]) => `${k.toUpperCase()}[${v.join(',')}]`).join(' ');
    recordFault(
      7,
      'transformer group rebalances: one dies after insert before commit, one stops mid-stream',
      await audit(rt.deps.ch, ledger),
      `8 partitions; split ${fmt(split1)}, B stored ${storedByB} events then died uncommitted (handed to A again); split ${fmt(split2)}, then A stopped and C took all; events by A/B/C: ${a.transformer.stats.eventsOut}/${storedByB}/${c.transformer.stats.eventsOut}`,
      t0,
    );
  } finally {
    for (const m of members) await m.stop().catch(() => undefined);
    await rt.close();
    await mock.stop();
  }
});
