// The event log on Kafka (kafkajs): appends resolve once every in-sync replica has the records,
// consumers hand per-partition batches to the handler and commit only what it finished.
// NOTE: kafkajs is in maintenance mode; nothing outside this file may depend on it.
import { setTimeout as delay } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import type { Admin, Consumer as KafkaJsConsumer, EachBatchPayload, KafkaMessage, Producer, logCreator } from 'kafkajs';
import type { Logger } from '../logger.ts';
import { waitFor } from '../wait-for.ts';
import {
  LogFullError,
  backoffMs,
  type ConsumeOptions,
  type Consumer,
  type EventLog,
  type LogBatch,
  type LogRecord,
  type LogUsage,
  type PartitionLag,
  type StoredRecord,
} from './types.ts';

// kafkajs is CommonJS with spread exports, which Node's ESM loader cannot name one by one.
const { Kafka, Partitioners, logLevel } = kafkajs;

export interface KafkaEventLogOptions {
  brokers: string[];
  clientId: string;
  /**
   * Idempotent producer (default true): broker-side dedup of retried sends, order kept with one request in flight.
   * NOTE: librdkafka 2.0's mock cluster advertises controller id 0, a broker that does not exist, and kafkajs asks
   * the controller for the producer id; against such a cluster connect() produces without idempotence and says so.
   */
  idempotent?: boolean;
  /** How often consumers heartbeat (default 1000 ms); a rebalance is noticed within one interval. */
  heartbeatIntervalMs?: number;
  /** A consumer silent for this long leaves the group (default 30 000 ms). */
  sessionTimeoutMs?: number;
  /** How long connect() waits for a broker to answer, with backoff (CVM_STARTUP_TIMEOUT_S; default 60 000 ms). */
  startupTimeoutMs?: number;
}

/** The broker refused a record or batch as larger than it accepts (message.max.bytes / segment size). */
export class RecordTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordTooLargeError';
  }
}

const DEFAULT_MAX_BATCH = 500;
/** Coordinator answers after which a member must rejoin before it may commit again (kafkajs rejoins on them). */
const REJOIN_ERRORS = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'NOT_COORDINATOR_FOR_GROUP']);
const DEFAULT_MAX_WAIT_MS = 1000;

export class KafkaEventLog implements EventLog {
  readonly kind = 'kafka' as const;
  private readonly consumers = new Set<KafkaGroupConsumer>();
  private closed = false;

  private constructor(
    private readonly kafka: InstanceType<typeof Kafka>,
    private readonly producer: Producer,
    private readonly admin: Admin,
    private readonly cfg: KafkaEventLogOptions,
    private readonly log: Logger,
  ) {}

  /** Waits (with backoff, up to startupTimeoutMs) until a broker answers, then connects the producer and admin. */
  static async connect(cfg: KafkaEventLogOptions, log: Logger): Promise<KafkaEventLog> {
    const at = cfg.brokers.join(',');
    const cluster = await waitFor(() => probeCluster(cfg), { dependency: 'Kafka', at, timeoutMs: cfg.startupTimeoutMs ?? 60_000, log });
    const kafka = new Kafka({
      clientId: cfg.clientId,
      brokers: cfg.brokers,
      logLevel: log.isLevelEnabled('trace') ? logLevel.DEBUG : logLevel.INFO,
      logCreator: pinoLogCreator(log),
    });
    let idempotent = cfg.idempotent ?? true;
    if (idempotent && !cluster.controllerReachable) {
      // kafkajs asks the controller for a producer id; without one the producer cannot start. Retried sends may
      // then reach the log twice, which the transformer's dedupe step drops (same event id).
      log.warn({ brokers: cfg.brokers, controller: cluster.controller }, 'kafka cluster names no reachable controller (librdkafka\'s mock cluster does this): producing without idempotence; set KAFKA_IDEMPOTENT=false to say so explicitly');
      idempotent = false;
    }
    const producer = kafka.producer({
      idempotent,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
      // Java-compatible murmur2 on the key: the same customer lands on the same partition as with any other client.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    const admin = kafka.admin();
    try {
      await producer.connect();
      await admin.connect();
    } catch (err) {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
      throw err;
    }
    log.info({ brokers: cfg.brokers, idempotent }, 'kafka event log connected');
    return new KafkaEventLog(kafka, producer, admin, cfg, log);
  }

  async append(topic: string, records: LogRecord[]): Promise<void> {
    if (records.length === 0) return;
    try {
      await this.producer.send({
        topic,
        acks: -1,
        messages: records.map((r) => ({ key: r.key, value: r.value })),
      });
    } catch (err) {
      const mapped = mapAppendError(err, topic);
      const f = this.failures;
      this.failures = { count: f.count + 1, since: f.since ?? Date.now(), at: Date.now(), last: mapped.message };
      throw mapped;
    }
    if (this.failures.count) this.failures = { count: 0, since: null, at: 0, last: null };
  }

  private failures = { count: 0, since: null as number | null, at: 0, last: null as string | null };

  /**
   * The brokers' disks are theirs, so no byte counts: what the producer sees. After two failed sends in a row
   * (each already retried by kafkajs) appends back off, 1 s doubling up to 30 s from the last failure, so the
   * collector answers 503 at once instead of holding every request through the same retries.
   */
  async usage(_topic: string, _highWaterPct: number): Promise<LogUsage> {
    const f = this.failures;
    const backoffUntil = f.count >= 2 ? f.at + Math.min(30_000, 1000 * 2 ** Math.min(f.count - 2, 5)) : null;
    return { usedBytes: null, limitBytes: null, highWaterBytes: null, appendFailures: f.count, failingSince: f.since, lastError: f.last, backoffUntil };
  }

  async consume(opts: ConsumeOptions): Promise<KafkaGroupConsumer> {
    if (this.closed) throw new Error('kafka event log is closed');
    const consumer = this.kafka.consumer({
      groupId: opts.group,
      heartbeatInterval: this.cfg.heartbeatIntervalMs ?? 1000,
      sessionTimeout: this.cfg.sessionTimeoutMs ?? 30_000,
      // Fetches return as soon as one record is there; this bounds how long the broker holds an empty fetch.
      maxWaitTimeInMs: opts.maxWaitMs ?? DEFAULT_MAX_WAIT_MS,
      allowAutoTopicCreation: true,
    });
    const start = async (): Promise<void> => {
      await consumer.connect();
      // A group with no committed offset starts at the oldest record: nothing appended before it is skipped.
      await consumer.subscribe({ topics: [opts.topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: (payload) => handle.eachBatch(payload),
      });
    };
    const handle = new KafkaGroupConsumer(consumer, opts, this.log.child({ topic: opts.topic, group: opts.group }), () =>
      this.consumers.delete(handle), start,
    );
    this.consumers.add(handle);
    try {
      await start();
    } catch (err) {
      await handle.stop();
      throw err;
    }
    return handle;
  }

  async lag(topic: string, group: string): Promise<PartitionLag[]> {
    let ends: Awaited<ReturnType<Admin['fetchTopicOffsets']>>;
    try {
      ends = await this.admin.fetchTopicOffsets(topic);
    } catch (err) {
      if (protocolErrorType(err) === 'UNKNOWN_TOPIC_OR_PARTITION') return [];
      throw err;
    }
    const [groupOffsets] = await this.admin.fetchOffsets({ groupId: group, topics: [topic] });
    const committedBy = new Map((groupOffsets?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return ends
      .map((p) => {
        const high = Number(p.high);
        const low = Number(p.low);
        const stored = committedBy.get(p.partition) ?? -1;
        // No commit yet (-1): the group would start at the oldest record still held.
        const committed = stored < 0 ? low : Math.max(stored, low);
        return { partition: p.partition, committed, high, lag: Math.max(0, high - committed) };
      })
      .sort((a, b) => a.partition - b.partition);
  }

  /**
   * Creates `topic` with `partitions` partitions where the cluster allows it. Returns false when the topic already
   * exists or could not be created (logged): the librdkafka mock cluster has no controller to ask and auto-creates
   * topics with 4 partitions on first use instead.
   */
  async ensureTopic(topic: string, partitions: number, replicationFactor = -1): Promise<boolean> {
    try {
      const cluster = await this.admin.describeCluster();
      if (!cluster.brokers.some((b) => b.nodeId === cluster.controller)) {
        this.log.warn({ topic, controller: cluster.controller }, 'kafka cluster names no reachable controller; topic left to auto-creation');
        return false;
      }
      return await this.admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor }] });
    } catch (err) {
      this.log.warn({ err, topic, partitions }, 'could not create kafka topic; relying on broker auto-creation');
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.consumers].map((c) => c.stop()));
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }
}

/** What a broker said about its cluster, asked by a client that does not retry (the caller's wait does). */
async function probeCluster(cfg: KafkaEventLogOptions): Promise<{ controller: number | null; controllerReachable: boolean }> {
  const probe = new Kafka({
    clientId: `${cfg.clientId}-probe`,
    brokers: cfg.brokers,
    connectionTimeout: 3000,
    requestTimeout: 5000,
    retry: { retries: 0 },
    // Its failures are the wait's to report, once, not one error line per attempt.
    logLevel: logLevel.NOTHING,
  });
  const admin = probe.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('the cluster lists no brokers');
    return { controller: cluster.controller, controllerReachable: cluster.brokers.some((b) => b.nodeId === cluster.controller) };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** One consumer-group member. Besides stop(), tells which partitions it holds (tests and operators use it). */
export class KafkaGroupConsumer implements Consumer {
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private assigned: number[] = [];
  private joins = 0;
  private readonly maxBatch: number;
  /** Set when the coordinator asked this member to rejoin (a heartbeat or commit said so); cleared by the join. */
  private rejoin: Error | null = null;
  private crashes = 0;
  private lastCrashRestarts = false;
  private restarting = false;
  private restartCount = 0;

  constructor(
    private readonly consumer: KafkaJsConsumer,
    private readonly opts: ConsumeOptions,
    private readonly log: Logger,
    private readonly onStopped: () => void,
    /** Connects, subscribes and runs the kafkajs consumer (again, after a crash). */
    private readonly start: () => Promise<void>,
  ) {
    this.maxBatch = Math.max(1, opts.maxBatch ?? DEFAULT_MAX_BATCH);
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.joins++;
      this.rejoin = null;
      this.assigned = [...(e.payload.memberAssignment[opts.topic] ?? [])].sort((a, b) => a - b);
      this.log.debug({ partitions: this.assigned }, 'kafka consumer joined group');
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.crashes++;
      this.lastCrashRestarts = e.payload.restart;
      this.assigned = [];
      this.log.error({ err: e.payload.error, restart: e.payload.restart }, 'kafka consumer crashed');
      // kafkajs restarts a crashed consumer only after a retriable error (restartOnFailure is not asked about the
      // others): after e.g. a non-retriable answer while joining, the member would stay out of its group for good,
      // its partitions unread. Start it again here, with backoff.
      if (!e.payload.restart && !this.stopping) void this.restartAfterCrash();
    });
  }

  /** Times this member was started again after a crash kafkajs would not recover from. */
  restarts(): number {
    return this.restartCount;
  }

  private async restartAfterCrash(): Promise<void> {
    if (this.restarting) return;
    this.restarting = true;
    try {
      for (let attempt = 0; !this.stopping; attempt++) {
        await this.sleep(backoffMs(attempt, 500));
        if (this.stopping) return;
        const crashesBefore = this.crashes;
        this.restartCount++;
        try {
          await this.start();
        } catch (err) {
          this.log.error({ err, attempt }, 'kafka consumer restart failed; trying again');
          continue;
        }
        if (this.stopping) await this.consumer.disconnect().catch(() => undefined);
        // run() also returns when the consumer crashed while joining; only a crash kafkajs recovers from is done.
        if (this.crashes === crashesBefore || this.lastCrashRestarts) {
          this.log.warn({ attempt }, 'kafka consumer started again after a crash');
          return;
        }
      }
    } finally {
      this.restarting = false;
    }
  }

  /** Partitions of the topic this member was given at its last group join. */
  partitions(): number[] {
    return [...this.assigned];
  }

  /** True while the group waits for this member to rejoin: it hands no further records to the handler meanwhile. */
  rebalancePending(): boolean {
    return this.rejoin !== null;
  }

  /** How often this member (re)joined its group: each rebalance it took part in counts once. */
  groupJoins(): number {
    return this.joins;
  }

  async eachBatch({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    // A rebalance began while an earlier batch of this fetch was in hand. kafkajs hands over every batch of a
    // fetch before it rejoins; handling them first would keep the whole group waiting (past the broker's join
    // window and this member's session), so they go back uncommitted and the error makes kafkajs rejoin now.
    if (this.rejoin) throw this.rejoin;
    // Stopping, or the partition went to another member in a rebalance: leave the rest uncommitted for its owner.
    const live = (): boolean => !this.stopping && !this.rejoin && isRunning() && !isStale();
    const messages = batch.messages;
    for (let i = 0; i < messages.length; i += this.maxBatch) {
      if (!live()) break;
      const chunk = toLogBatch(batch.topic, batch.partition, messages.slice(i, i + this.maxBatch));
      if (!(await this.handleUntilDone(chunk, heartbeat, live))) break;
      // The last chunk also covers trailing control records (transaction markers), so lag can reach 0.
      const isLast = i + this.maxBatch >= messages.length;
      const done = isLast ? Math.max(chunk.lastOffset, Number(batch.lastOffset())) : chunk.lastOffset;
      resolveOffset(String(done));
      // NOTE: not consumer.commitOffsets(): kafkajs drops that silently once stop() began, and stop() waits for
      // this very batch. With explicit offsets this commits straight to the group coordinator (a broker still
      // takes it while a rebalance is being prepared). If it fails (the partition is gone), kafkajs rejoins and
      // the next owner gets these records again: at least once.
      try {
        await commitOffsetsIfNecessary({
          topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(done + 1) }] }],
        });
      } catch (err) {
        this.noteRejoin(err, this.joins);
        throw err;
      }
    }
    if (this.rejoin && !this.stopping) throw this.rejoin;
  }

  /** Remembers a coordinator answer that means "rejoin the group" (unless the member rejoined since the request
   *  went out); other failures are left to kafkajs. */
  private noteRejoin(err: unknown, joinsWhenSent: number): void {
    const type = protocolErrorType(err);
    if (type && REJOIN_ERRORS.has(type) && !this.rejoin && joinsWhenSent === this.joins) {
      this.rejoin = err instanceof Error ? err : new Error(String(err));
      this.log.debug({ type }, 'kafka group asks this member to rejoin; handing no more records until it has');
    }
  }

  /** Runs the handler until it succeeds; false when the consumer must let go first (nothing is committed then). */
  private async handleUntilDone(batch: LogBatch, heartbeat: () => Promise<void>, live: () => boolean): Promise<boolean> {
    // attempt counts failed tries from 0, as the embedded log does.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.withHeartbeats(heartbeat, () => this.opts.handler({ ...batch, records: batch.records.slice() }));
        return true;
      } catch (err) {
        const where = { partition: batch.partition, firstOffset: batch.firstOffset, lastOffset: batch.lastOffset, attempt };
        if (this.opts.onError) {
          try {
            this.opts.onError(err, attempt);
          } catch (cbErr) {
            this.log.error({ err: cbErr, ...where }, 'onError callback threw');
          }
        } else {
          this.log.warn({ err, ...where }, 'batch handler failed; retrying the same records');
        }
        if (!live()) return false;
        await this.withHeartbeats(heartbeat, () => this.sleep(backoffMs(attempt)));
        if (!live()) return false;
      }
    }
  }

  /** Keeps the group membership alive while long work (a big insert, a backoff) runs; kafkajs sends at most one
   *  heartbeat per heartbeatInterval however often it is asked. */
  private async withHeartbeats<T>(heartbeat: () => Promise<void>, work: () => Promise<T>): Promise<T> {
    const timer = setInterval(() => {
      const joins = this.joins;
      // A failed heartbeat usually means a rebalance: the work in hand finishes, nothing after it starts.
      heartbeat().catch((err: unknown) => {
        this.noteRejoin(err, joins);
        this.log.debug({ err }, 'heartbeat during batch failed');
      });
    }, 500);
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  private async sleep(ms: number): Promise<void> {
    await delay(ms, undefined, { signal: this.abort.signal }).catch(() => undefined);
  }

  /** Waits for the batch in hand to finish (and be committed), leaves the group, disconnects. Safe to call twice. */
  stop(): Promise<void> {
    if (!this.stopped) {
      this.stopping = true;
      this.abort.abort();
      this.stopped = this.consumer
        .disconnect()
        .catch((err: unknown) => this.log.warn({ err }, 'kafka consumer disconnect failed'))
        .finally(() => this.onStopped());
    }
    return this.stopped;
  }
}

function toLogBatch(topic: string, partition: number, messages: KafkaMessage[]): LogBatch {
  const records: StoredRecord[] = messages.map((m) => ({
    key: m.key?.toString('utf8') ?? '',
    value: m.value?.toString('utf8') ?? '',
    offset: Number(m.offset),
    timestamp: Number(m.timestamp),
  }));
  return {
    topic,
    partition,
    firstOffset: records[0]?.offset ?? -1,
    lastOffset: records[records.length - 1]?.offset ?? -1,
    records,
  };
}

/** The Kafka protocol error type (e.g. MESSAGE_TOO_LARGE) behind a kafkajs error, looking through retry wrappers. */
export function protocolErrorType(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 8; depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string') return type;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function messagesOf(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e && depth < 8; depth++) {
    if (e instanceof Error) parts.push(e.message);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(': ');
}

/** Turns a failed send into the error the collector acts on: full log (retry later), too large (reject), or as is. */
export function mapAppendError(err: unknown, topic: string): Error {
  const type = protocolErrorType(err);
  const text = messagesOf(err);
  // A broker whose disk is full answers KAFKA_STORAGE_ERROR: for the caller that is a full log.
  if (type === 'KAFKA_STORAGE_ERROR' || /no space left|disk full|not enough space/i.test(text)) {
    const full = new LogFullError(`kafka broker has no room for topic ${topic}: ${text}`);
    full.cause = err;
    return full;
  }
  if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE' || /too large/i.test(text)) {
    const big = new RecordTooLargeError(`kafka refused the batch for topic ${topic} as too large (${type ?? 'size'}): ${text}`);
    big.cause = err;
    return big;
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Routes kafkajs's own log lines into pino; its routine INFO lines (joins, connects) become debug. */
function pinoLogCreator(log: Logger): logCreator {
  const kafkaLog = log.child({ lib: 'kafkajs' });
  return () =>
    ({ namespace, level, log: entry }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = entry;
      const fields = { ...extra, namespace };
      // kafkajs logs every error response at ERROR, also those it handles itself (a rebalance, a moved leader);
      // errors that matter reach cvm through the call that failed, so these are debug lines here.
      if (namespace === 'Connection' && message.startsWith('Response ')) {
        kafkaLog.debug(fields, message);
        return;
      }
      if (/rebalanc/i.test(message)) {
        kafkaLog.info(fields, message);
        return;
      }
      switch (level) {
        case logLevel.ERROR:
          kafkaLog.error(fields, message);
          break;
        case logLevel.WARN:
          kafkaLog.warn(fields, message);
          break;
        case logLevel.INFO:
          kafkaLog.debug(fields, message);
          break;
        default:
          kafkaLog.trace(fields, message);
      }
    };
}
