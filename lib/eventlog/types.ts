// The event log seen by producers and consumers, whatever stores it: the embedded durable log or Kafka.

export interface LogRecord {
  /** Partition key: customer_id, else anonymous_id, so one person's events stay in order. */
  key: string;
  value: string;
}

export interface StoredRecord extends LogRecord {
  offset: number;
  /** Append time, ms since epoch. */
  timestamp: number;
}

export interface LogBatch {
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  records: StoredRecord[];
}

/** Must finish its work (e.g. the ClickHouse insert) before resolving: offsets are committed after it. */
export type BatchHandler = (batch: LogBatch) => Promise<void>;

export interface ConsumeOptions {
  topic: string;
  group: string;
  handler: BatchHandler;
  /** Most records handed to the handler at once. */
  maxBatch?: number;
  /** Longest wait to fill a batch once its first record is there. */
  maxWaitMs?: number;
  /** Called after each failed attempt; the same batch is retried with bounded backoff. */
  onError?: (err: unknown, attempt: number) => void;
}

export interface Consumer {
  stop(): Promise<void>;
}

export interface PartitionLag {
  partition: number;
  committed: number;
  high: number;
  lag: number;
}

/** How full the log is and whether appends work: the collector refuses before it tries (back-pressure). */
export interface LogUsage {
  /** Bytes the log holds for the topic, the most it may hold, and where the collector starts refusing;
   *  null where the log cannot tell (Kafka: the brokers own their disks). */
  usedBytes: number | null;
  limitBytes: number | null;
  highWaterBytes: number | null;
  /** Appends that failed in a row (0 once one works), since when (ms since epoch), and the last error. */
  appendFailures: number;
  failingSince: number | null;
  lastError: string | null;
  /** Until when appends are not worth trying (a failing producer backs off), ms since epoch; else null. */
  backoffUntil: number | null;
}

/** Why appends should not be tried now: the log is near its limit, or it backs off after failures; else null. */
export function refusal(u: LogUsage, now = Date.now()): 'near_limit' | 'backing_off' | null {
  if (u.usedBytes !== null && u.highWaterBytes !== null && u.usedBytes >= u.highWaterBytes) return 'near_limit';
  if (u.backoffUntil !== null && u.backoffUntil > now) return 'backing_off';
  return null;
}

export interface EventLog {
  readonly kind: 'embedded' | 'kafka';
  /** Resolves only once the log holds every record durably; throws LogFullError when it has no room. */
  append(topic: string, records: LogRecord[]): Promise<void>;
  consume(opts: ConsumeOptions): Promise<Consumer>;
  lag(topic: string, group: string): Promise<PartitionLag[]>;
  /**
   * The topic's usage; `highWaterPct` (CVM_LOG_HIGH_WATER_PCT) of the limit is where the caller refuses.
   * Above it the embedded log first drops records every group has consumed (as a full append does), so the
   * answer is the room that cannot be had. Called per collector request: cheap below the mark. Optional only
   * for test doubles; both real logs have it.
   */
  usage?(topic: string, highWaterPct: number): Promise<LogUsage>;
  close(): Promise<void>;
}

export class LogFullError extends Error {
  constructor(message = 'event log is full') {
    super(message);
    this.name = 'LogFullError';
  }
}

export function backoffMs(attempt: number, baseMs = 200, capMs = 30_000): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  return exp / 2 + Math.random() * (exp / 2);
}
