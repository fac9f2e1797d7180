// The embedded durable event log: an append-only sequence per topic in LMDB, with committed offsets per
// consumer group. LMDB's default synced commits survive kill -9 and power loss; append resolves after
// the commit is on disk, so the collector acknowledges only what is durable.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import type { RootDatabase, Database } from 'lmdb';
import { committedOffsets, metaDb, nextKey, offsetKey, openLogRoot, topicDb } from './embedded-layout.ts';
import type { Logger } from '../logger.ts';
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
const TRIM_CHUNK = 200;
/** Disk space held back for trimming when the disk fills up. */
const RESERVE_BYTES = 512 * 1024;
/**
 * How a full disk shows in LMDB's errors: the errno as a number in `code` (lmdb's native layer), ENOSPC,
 * or EIO for a short write ("filesystem full?" in mdb.c); Node's fs says the same as 'ENOSPC' or 'EIO'.
 */
const DISK_FULL_CODES = new Set<number | string>([os.constants.errno.ENOSPC, os.constants.errno.EIO, 'ENOSPC', 'EIO']);
/** LMDB's own "the map (its size limit) is full": the log is full, the disk need not be. */
const MDB_MAP_FULL = -30792;

function errorCode(err: unknown): unknown {
  return err instanceof Error && 'code' in err ? err.code : undefined;
}

/** True when a failed LMDB write failed because the disk is full (by its code, not its message). */
export function isDiskFull(err: unknown): boolean {
  const code = errorCode(err);
  return (typeof code === 'number' || typeof code === 'string') && DISK_FULL_CODES.has(code);
}

/** The log refused an append because the disk under it is full (not because of its byte budget). */
class DiskFullError extends LogFullError {}

/**
 * A failed LMDB commit rejects with 'Commit failed' and the cause (e.g. ENOSPC) in a separate `commitError`
 * promise, which crashes the process as an unhandled rejection unless someone awaits it. Every write goes
 * through here, so a full disk is an error the caller sees, not a crash.
 */
async function durable<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (err) {
    const pending = (err as { commitError?: unknown }).commitError;
    if (pending instanceof Promise) {
      const cause = await pending.then(() => undefined, (e: unknown) => e);
      if (cause instanceof Error) throw Object.assign(new Error(`LMDB commit failed: ${cause.message}`), { cause, code: errorCode(cause) });
    }
    throw err;
  }
}

export class EmbeddedEventLog implements EventLog {
  readonly kind = 'embedded' as const;
  private readonly topics = new Map<string, Database<StoredValue, number>>();
  private readonly appended = new EventEmitter();
  private readonly consumers = new Set<{ stop(): Promise<void> }>();
  private trimTimer: NodeJS.Timeout;
  private makingRoom: Promise<void> | null = null;
  private closed = false;
  private failures = { count: 0, since: null as number | null, last: null as string | null };

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
    // Appends are explicit transactions, which lmdb still groups into one commit when they queue up
    // (eventTurnBatching is off: see embedded-layout.ts).
    const root = openLogRoot(opts.dir);
    const meta = metaDb(root);
    const log = new EmbeddedEventLog(root, meta, opts);
    log.keepReserve();
    return log;
  }

  private topic(name: string): Database<StoredValue, number> {
    let db = this.topics.get(name);
    if (!db) {
      db = topicDb<StoredValue>(this.root, name);
      this.topics.set(name, db);
    }
    return db;
  }

  /** A small file kept beside the log, deleted when the disk is full so trim() can run, then made again. */
  private get reservePath(): string {
    return path.join(this.opts.dir, 'reserve.bin');
  }

  private keepReserve(): void {
    const file = this.reservePath;
    try {
      if (!fs.existsSync(file)) fs.writeFileSync(file, Buffer.alloc(RESERVE_BYTES));
    } catch {
      // Not all of it fits (yet): a part is still worth keeping; a later trim tops it up.
      const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
      if (size < RESERVE_BYTES / 8) fs.rmSync(file, { force: true });
    }
  }

  private releaseReserve(): void {
    if (fs.existsSync(this.reservePath)) {
      fs.rmSync(this.reservePath, { force: true });
      this.opts.log.warn({ dir: this.opts.dir }, 'disk under the event log is full: released the reserve to trim consumed records');
    }
  }

  /** Bytes of records not yet trimmed, tracked in meta so the bound holds across restarts. */
  bytes(topic: string): number {
    return this.meta.get(`bytes:${topic}`) ?? 0;
  }

  async append(topicName: string, records: LogRecord[]): Promise<void> {
    if (this.closed) throw new Error('event log is closed');
    if (records.length === 0) return;
    if (this.makingRoom) await this.makingRoom;
    try {
      try {
        await this.write(topicName, records);
      } catch (err) {
        if (!(err instanceof LogFullError)) throw err;
        // Full (budget or disk): records every group already consumed may still take the room, retention or
        // not; drop them and try once more. Appends wait meanwhile, so they do not eat the room first.
        this.makingRoom ??= this.makeRoom(err instanceof DiskFullError).finally(() => (this.makingRoom = null));
        await this.makingRoom;
        await this.write(topicName, records);
      }
    } catch (err) {
      this.failures = { count: this.failures.count + 1, since: this.failures.since ?? Date.now(), last: err instanceof Error ? err.message : String(err) };
      throw err;
    }
    if (this.failures.count) this.failures = { count: 0, since: null, last: null };
    this.appended.emit(topicName);
  }

  async usage(topic: string, highWaterPct: number): Promise<LogUsage> {
    const highWater = Math.floor((this.opts.maxBytes * highWaterPct) / 100);
    // Consumed records kept for retention are not pressure: drop them before calling the log near full.
    if (!this.closed && this.bytes(topic) >= highWater && this.hasConsumed()) {
      this.makingRoom ??= this.makeRoom(false).finally(() => (this.makingRoom = null));
      await this.makingRoom;
    }
    const f = this.failures;
    return { usedBytes: this.bytes(topic), limitBytes: this.opts.maxBytes, highWaterBytes: highWater, appendFailures: f.count, failingSince: f.since, lastError: f.last, backoffUntil: null };
  }

  private async makeRoom(diskFull: boolean): Promise<void> {
    if (!this.hasConsumed()) return;
    // On a full disk even a delete needs a few free pages (copy-on-write): the reserve file gives them up.
    if (diskFull) this.releaseReserve();
    await this.trim(Date.now(), true).catch((err: unknown) => this.opts.log.warn({ err }, 'log trim failed'));
    this.keepReserve();
  }

  /** True when some topic holds records every group has consumed (which trim(…, true) would drop). */
  private hasConsumed(): boolean {
    for (const topic of this.topics.keys()) {
      const groups = this.groups(topic);
      if (groups.length && Math.min(...groups.map((g) => this.committed(topic, g))) > this.low(topic)) return true;
    }
    return false;
  }

  private async write(topicName: string, records: LogRecord[]): Promise<void> {
    const db = this.topic(topicName);
    let size = 0;
    for (const r of records) size += r.value.length + r.key.length + 16;
    const now = Date.now();
    try {
      await durable(
        this.root.transaction(() => {
          const used = this.meta.get(`bytes:${topicName}`) ?? 0;
          if (used + size > this.opts.maxBytes) throw new LogFullError(`event log is full (${used} of ${this.opts.maxBytes} bytes held)`);
          let next = this.meta.get(nextKey(topicName)) ?? 0;
          for (const r of records) {
            db.put(next, { k: r.key, v: r.value, t: now });
            next += 1;
          }
          this.meta.put(nextKey(topicName), next);
          this.meta.put(`bytes:${topicName}`, used + size);
        }),
      );
    } catch (err) {
      if (err instanceof LogFullError) throw err;
      const why = err instanceof Error ? err.message : String(err);
      if (isDiskFull(err)) throw new DiskFullError(`event log cannot write, the disk is full: ${why}`);
      if (errorCode(err) === MDB_MAP_FULL) throw new LogFullError(`event log cannot write: ${why}`);
      throw err;
    }
  }

  private committed(topic: string, group: string): number {
    return this.meta.get(offsetKey(group, topic)) ?? 0;
  }

  private groups(topic: string): string[] {
    const out: string[] = [];
    for (const o of committedOffsets(this.meta)) if (o.topic === topic) out.push(o.group);
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
    if (this.meta.get(offsetKey(group, topic)) === undefined) await durable(this.meta.put(offsetKey(group, topic), this.low(topic)));
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
    // Backoff after a failed batch: new appends must not cut it short (that turns a ClickHouse outage
    // under traffic into a retry storm); only stop() does.
    let interrupt: (() => void) | null = null;
    const backoff = (ms: number) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(done, ms);
        function done() { clearTimeout(t); interrupt = null; resolve(); }
        interrupt = done;
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
            await durable(this.meta.put(offsetKey(group, topic), batch.lastOffset + 1));
            break;
          } catch (err) {
            opts.onError?.(err, attempt);
            this.opts.log.warn({ err, topic, group, attempt, firstOffset: batch.firstOffset }, 'batch handler failed; retrying');
            await backoff(backoffMs(attempt));
          }
        }
      }
    };
    const running = loop();
    const consumer = {
      stop: async () => {
        stopping = true;
        wake?.();
        interrupt?.();
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
    return this.meta.get(nextKey(topic)) ?? 0;
  }

  async lag(topic: string, group: string): Promise<PartitionLag[]> {
    const high = this.meta.get(nextKey(topic)) ?? 0;
    const committed = this.committed(topic, group);
    return [{ partition: PARTITION, committed, high, lag: Math.max(0, high - committed) }];
  }

  /**
   * Drop records every group has consumed once they are older than the retention time, or at once
   * when the log is over 80% full (or `force`, when an append found no room). Records some group has not
   * consumed are never dropped.
   */
  async trim(now = Date.now(), force = false): Promise<number> {
    let removed = 0;
    for (const topic of this.topics.keys()) {
      const groups = this.groups(topic);
      if (groups.length === 0) continue;
      const minCommitted = Math.min(...groups.map((g) => this.committed(topic, g)));
      const pressured = force || this.bytes(topic) > this.opts.maxBytes * 0.8;
      const db = this.topic(topic);
      // Small transactions: on a full disk a delete needs free pages too (copy-on-write), and only a small
      // one fits in the pages earlier small ones freed.
      for (let more = true; more; ) {
        more = false;
        await durable(this.root.transaction(() => {
          let freed = 0;
          let n = 0;
          for (const { key, value } of db.getRange({ end: minCommitted, snapshot: false })) {
            if (!pressured && now - value.t < this.opts.retentionMs) break;
            if (n === TRIM_CHUNK) {
              more = true;
              break;
            }
            db.remove(key);
            freed += value.v.length + value.k.length + 16;
            n += 1;
          }
          removed += n;
          if (freed > 0) this.meta.put(`bytes:${topic}`, Math.max(0, (this.meta.get(`bytes:${topic}`) ?? 0) - freed));
        }));
      }
    }
    return removed;
  }


  /**
   * Erasure: removes every record of the topic whose partition key is one of `keys`, consumed or not.
   * NOTE: LMDB is copy-on-write, so the removed values may linger in freed pages of data.mdb until reused;
   * the sealed log (sealed.ts) makes those leftovers ciphertext under a destroyed key.
   */
  async removeByKey(topic: string, keys: ReadonlySet<string>): Promise<number> {
    if (!keys.size) return 0;
    const db = this.topic(topic);
    const doomed: Array<{ offset: number; size: number }> = [];
    for (const { key, value } of db.getRange({ snapshot: false })) if (keys.has(value.k)) doomed.push({ offset: key, size: value.v.length + value.k.length + 16 });
    for (let i = 0; i < doomed.length; i += TRIM_CHUNK) {
      const chunk = doomed.slice(i, i + TRIM_CHUNK);
      await durable(this.root.transaction(() => {
        for (const d of chunk) db.remove(d.offset);
        const freed = chunk.reduce((n, d) => n + d.size, 0);
        this.meta.put(`bytes:${topic}`, Math.max(0, (this.meta.get(`bytes:${topic}`) ?? 0) - freed));
      }));
    }
    return doomed.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const c of [...this.consumers]) await c.stop();
    this.closed = true;
    clearInterval(this.trimTimer);
    await this.root.close();
  }
}
