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

export interface EventLog {
  readonly kind: 'embedded' | 'kafka';
  /** Resolves only once the log holds every record durably; throws LogFullError when it has no room. */
  append(topic: string, records: LogRecord[]): Promise<void>;
  consume(opts: ConsumeOptions): Promise<Consumer>;
  lag(topic: string, group: string): Promise<PartitionLag[]>;
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
