// The embedded durable event log: an append-only sequence per topic in LMDB, with committed offsets per
// consumer group. LMDB's default synced commits survive kill -9 and power loss; append resolves after
// the commit is on disk, so the collector acknowledges only what is durable.
import fs from 'node:fs';
import { EventEmitter } from 'node:events';
import { open, type RootDatabase, type Database } from 'lmdb';
import type { Logger } from '../logger.ts';
import {
  LogFullError,
  backoffMs,
  type ConsumeOptions,
  type Consumer,
  type EventLog,
  type LogBatch,
  type LogRecord,
  type PartitionLag,
  type StoredRecord,
} from './types.ts';

interface StoredValue { k: string; v: string; t: number }

export interface EmbeddedLogOptions {
  dir: string;
  /** Bytes of unconsumed records the log may hold before append refuses with LogFullError. */
  maxBytes: number;
  /** Records every group has consumed are kept this long (for replay), then trimmed. */
  retentionMs: number;
  log: Logger;
  /** How often consumers look for records appended by another process. */
  pollMs?: number;
}

const PARTITION = 0;

export class EmbeddedEventLog implements EventLog {
  readonly kind = 'embedded' as const;
  private readonly topics = new Map<string, Database<StoredValue, number>>();
  private readonly appended = new EventEmitter();
  private readonly consumers = new Set<{ stop(): Promise<void> }>();
  private trimTimer: NodeJS.Timeout;
  private closed = false;

  private constructor(
    private readonly root: RootDatabase,
    private readonly meta: Database<number, string>,
    private readonly opts: EmbeddedLogOptions,
  ) {
    this.appended.setMaxListeners(0);
    this.trimTimer = setInterval(() => void this.trim().catch((err) => opts.log.warn({ err }, 'log trim failed')), 60_000);
    this.trimTimer.unref();
  }

  static async open(opts: EmbeddedLogOptions): Promise<EmbeddedEventLog> {
    fs.mkdirSync(opts.dir, { recursive: true });
    const root = open({ path: opts.dir, maxDbs: 64, compression: false });
    const meta = root.openDB<number, string>({ name: 'meta', encoding: 'ordered-binary' });
    return new EmbeddedEventLog(root, meta, opts);
  }

  private topic(name: string): Database<StoredValue, number> {
    let db = this.topics.get(name);
    if (!db) {
      db = this.root.openDB<StoredValue, number>({ name: `topic:${name}`, encoding: 'msgpack' });
      this.topics.set(name, db);
    }
    return db;
  }

  /** Bytes of records not yet trimmed, tracked in meta so the bound holds across restarts. */
  bytes(topic: string): number {
    return this.meta.get(`bytes:${topic}`) ?? 0;
  }

  async append(topicName: string, records: LogRecord[]): Promise<void> {
    if (this.closed) throw new Error('event log is closed');
    if (records.length === 0) return;
    const db = this.topic(topicName);
    let size = 0;
    for (const r of records) size += r.value.length + r.key.length + 16;
    const now = Date.now();
    try {
      await this.root.transaction(() => {
        const used = this.meta.get(`bytes:${topicName}`) ?? 0;
        if (used + size > this.opts.maxBytes) throw new LogFullError(`event log is full (${used} of ${this.opts.maxBytes} bytes held)`);
        let next = this.meta.get(`next:${topicName}`) ?? 0;
        for (const r of records) {
          db.put(next, { k: r.key, v: r.value, t: now });
          next += 1;
        }
        this.meta.put(`next:${topicName}`, next);
        this.meta.put(`bytes:${topicName}`, used + size);
      });
    } catch (err) {
      if (err instanceof LogFullError) throw err;
      const msg = String((err as Error).message ?? err);
      if (/MDB_MAP_FULL|ENOSPC|No space left|MDB_DISK_FULL/i.test(msg)) throw new LogFullError(`event log cannot write: ${msg}`);
      throw err;
    }
    this.appended.emit(topicName);
  }

  private committed(topic: string, group: string): number {
    return this.meta.get(`offset:${group}:${topic}`) ?? 0;
  }

  private groups(topic: string): string[] {
    const out: string[] = [];
    for (const key of this.meta.getKeys({ start: 'offset:', end: 'offset;' })) {
      const k = String(key);
      if (k.endsWith(`:${topic}`)) out.push(k.slice('offset:'.length, k.length - topic.length - 1));
    }
    return out;
  }

  private read(topic: string, from: number, max: number): StoredRecord[] {
    const out: StoredRecord[] = [];
    for (const { key, value } of this.topic(topic).getRange({ start: from, limit: max })) {
      out.push({ offset: key, key: value.k, value: value.v, timestamp: value.t });
    }
    return out;
  }

  async consume(opts: ConsumeOptions): Promise<Consumer> {
    const { topic, group, handler } = opts;
    const maxBatch = opts.maxBatch ?? 5000;
    const maxWaitMs = opts.maxWaitMs ?? 1000;
    const pollMs = this.opts.pollMs ?? 200;
    // Register the group so retention keeps what it has not read yet.
    if (this.meta.get(`offset:${group}:${topic}`) === undefined) await this.meta.put(`offset:${group}:${topic}`, this.low(topic));
    let stopping = false;
    let wake: (() => void) | null = null;
    const onAppend = () => wake?.();
    this.appended.on(topic, onAppend);
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(done, ms);
        function done() { clearTimeout(t); wake = null; resolve(); }
        wake = done;
      });

    const loop = async () => {
      while (!stopping) {
        const from = this.committed(topic, group);
        let records = this.read(topic, from, maxBatch);
        if (records.length === 0) {
          await sleep(pollMs);
          continue;
        }
        // Let a small batch fill up, so ClickHouse gets few large inserts instead of many small ones.
        const deadline = Date.now() + maxWaitMs;
        while (!stopping && records.length < maxBatch && Date.now() < deadline) {
          await sleep(Math.min(pollMs, deadline - Date.now()));
          records = this.read(topic, from, maxBatch);
        }
        if (stopping) break;
        const batch: LogBatch = {
          topic,
          partition: PARTITION,
          firstOffset: records[0]!.offset,
          lastOffset: records[records.length - 1]!.offset,
          records,
        };
        for (let attempt = 0; !stopping; attempt++) {
          try {
            await handler(batch);
            await this.meta.put(`offset:${group}:${topic}`, batch.lastOffset + 1);
            break;
          } catch (err) {
            opts.onError?.(err, attempt);
            this.opts.log.warn({ err, topic, group, attempt, firstOffset: batch.firstOffset }, 'batch handler failed; retrying');
            await sleep(backoffMs(attempt));
          }
        }
      }
    };
    const running = loop();
    const consumer = {
      stop: async () => {
        stopping = true;
        wake?.();
        await running;
        this.appended.off(topic, onAppend);
        this.consumers.delete(consumer);
      },
    };
    this.consumers.add(consumer);
    return consumer;
  }

  private low(topic: string): number {
    for (const key of this.topic(topic).getKeys({ limit: 1 })) return key;
    return this.meta.get(`next:${topic}`) ?? 0;
  }

  async lag(topic: string, group: string): Promise<PartitionLag[]> {
    const high = this.meta.get(`next:${topic}`) ?? 0;
    const committed = this.committed(topic, group);
    return [{ partition: PARTITION, committed, high, lag: Math.max(0, high - committed) }];
  }

  /**
   * Drop records every group has consumed once they are older than the retention time, or at once
   * when the log is over 80% full. Records some group has not consumed are never dropped.
   */
  async trim(now = Date.now()): Promise<number> {
    let removed = 0;
    for (const topic of this.topics.keys()) {
      const groups = this.groups(topic);
      if (groups.length === 0) continue;
      const minCommitted = Math.min(...groups.map((g) => this.committed(topic, g)));
      const pressured = this.bytes(topic) > this.opts.maxBytes * 0.8;
      const db = this.topic(topic);
      await this.root.transaction(() => {
        let freed = 0;
        for (const { key, value } of db.getRange({ end: minCommitted, snapshot: false })) {
          if (!pressured && now - value.t < this.opts.retentionMs) break;
          db.remove(key);
          freed += value.v.length + value.k.length + 16;
          removed += 1;
        }
        if (freed > 0) this.meta.put(`bytes:${topic}`, Math.max(0, (this.meta.get(`bytes:${topic}`) ?? 0) - freed));
      });
    }
    return removed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const c of [...this.consumers]) await c.stop();
    this.closed = true;
    clearInterval(this.trimTimer);
    await this.root.close();
  }
}
