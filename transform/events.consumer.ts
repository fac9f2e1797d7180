// The transformer: adapts the raw event log to the steps (record-steps.ts). It cuts a batch into chunks,
// runs every record through parse and the steps, gathers the rows per table (chunk-rows.ts) and inserts
// thousands of rows per ClickHouse insert. Offsets are committed by the log only after this handler
// resolves, i.e. after ClickHouse acknowledged every insert; when an insert fails the handler throws and
// the log hands the same records over again with backoff. Re-deliveries are harmless:
//  - each table's insert carries insert_deduplication_token (topic, partition, offsets),
//  - rows of records at or below the partition's stored high-water mark (per table, stored-marks.ts) are
//    skipped, which also covers a re-delivered batch whose boundaries differ from the first attempt, and
//  - event ids stored recently (in memory; refilled from ClickHouse after a restart, restart-seed.ts) are
//    dropped by the dedupe step, which covers a client that sent the same events twice.
// Memory is bounded: recent ids, visitor sessions and customer countries are capped; a batch is at most
// CVM_TRANSFORM_BATCH_MAX records. How rows reach ClickHouse (client insert, or a file for chDB) is row-writer.ts.
import type { ClickHouse } from '../lib/clickhouse.ts';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import type { Consumer, EventLog, LogBatch } from '../lib/eventlog/types.ts';
import { advanceMarks, ChunkRows, sendChunk, type PreparedChunk } from './chunk-rows.ts';
import { CustomerCountries } from './customer-countries.ts';
import { FxTable } from './fx.ts';
import { RateMeter } from './rate-meter.ts';
import { RecentIds } from './recent-ids.ts';
import { recordSteps } from './record-steps.ts';
import { seedFromStored } from './restart-seed.ts';
import { rowWriter, type RowWriter } from './row-writer.ts';
import { Sessioniser } from './sessionise.ts';
import { parseRecord } from './steps/parse.ts';
import type { IdentityContext } from './steps/identity.ts';
import { loadMarks, type Marks } from './stored-marks.ts';

export const TRANSFORM_GROUP = 'transform';
/** The group draining the bulk topic (config.topics.bulk: the demo history) beside live traffic. */
export const BULK_GROUP = 'transform-bulk';
/** Rates are re-read this often, so `cvm fx import` reaches a running transformer. */
export const REFRESH_MS = 60_000;
/** Customer countries (a bigger read) this often; identify events update them as they pass anyway. */
export const COUNTRIES_REFRESH_MS = 10 * 60_000;

export interface TransformStats {
  batches: number;
  eventsIn: number;
  eventsOut: number;
  rejected: number;
  duplicates: number;
  failedBatches: number;
  /** Milliseconds spent turning records into rows, and waiting for ClickHouse to take them. */
  prepareMs: number;
  insertMs: number;
  lastInsertAt: number | null;
  rejectsByReason: Map<string, number>;
}

/** Why batches are not getting stored: set by the first failed attempt, cleared by the next stored batch. */
export interface TransformFailing {
  since: number;
  /** Failed attempts since then; the log retries the same batch with backoff (lib/eventlog/types.ts backoffMs, up to 30 s). */
  retries: number;
  lastError: string;
  lastErrorAt: number;
}

/**
 * A batch of at least 2 × CHUNK_MIN records is cut into up to PIPELINE_CHUNKS chunks. Below ~5000 rows
 * the fixed cost per ClickHouse insert outweighs the overlap (measured: 1250-row inserts cost twice the
 * CPU of 5000-row ones), so the default batch (5000) is one chunk and CVM_TRANSFORM_BATCH_MAX=20000 gives
 * four pipelined chunks.
 */
const PIPELINE_CHUNKS = 4;
const CHUNK_MIN = 5000;
const YIELD_EVERY = 500;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class EventsTransformer {
  readonly stats: TransformStats = { batches: 0, eventsIn: 0, eventsOut: 0, rejected: 0, duplicates: 0, failedBatches: 0, prepareMs: 0, insertMs: 0, lastInsertAt: null, rejectsByReason: new Map() };
  readonly rateIn = new RateMeter(60);
  readonly rateOut = new RateMeter(60);
  failing: TransformFailing | null = null;
  private fx: FxTable = FxTable.fromRows([]);
  private refreshedAt = 0;
  private countriesAt = 0;
  private readonly marks = new Map<string, Marks>();
  /**
   * With Kafka another transformer of the group may have written a partition since this one last held it
   * (and died before committing, with other batch boundaries), so cached marks are not trusted: one small
   * query per batch. The embedded log has a single consumer per store, so its cache is exact.
   */
  private verifyMarks = false;
  private readonly recentIds: RecentIds;
  private readonly sessions: Sessioniser;
  private readonly countries: CustomerCountries;
  private readonly seedEvents: number;
  private readonly chunkRows: number;
  private readonly writer: RowWriter;

  constructor(
    private readonly deps: {
      ch: ClickHouse;
      config: Config;
      log: Logger;
      protectTraits?: IdentityContext['protectTraits'];
      caps?: Partial<{ recentIds: number; visitors: number; countries: number; seedEvents: number; chunkRows: number }>;
      /** What this instance drains: the live topic and group with config's batch size unless told otherwise. */
      source?: { topic: string; group: string; maxBatch: number };
    },
  ) {
    this.recentIds = new RecentIds(deps.caps?.recentIds ?? 500_000);
    this.countries = new CustomerCountries(deps.caps?.countries ?? 1_000_000);
    this.sessions = new Sessioniser(deps.caps?.visitors ?? 200_000);
    this.seedEvents = deps.caps?.seedEvents ?? 100_000;
    this.chunkRows = deps.caps?.chunkRows ?? CHUNK_MIN;
    this.writer = rowWriter(deps.ch, deps.config.dataDir);
  }

  /** Re-reads exchange rates and customer countries now (after `cvm fx import`; on its own every REFRESH_MS). */
  async refresh(opts: { countries?: boolean } = {}): Promise<void> {
    this.fx = await FxTable.load(this.deps.ch);
    this.refreshedAt = Date.now();
    if (opts.countries === false) return;
    await this.countries.load(this.deps.ch);
    this.countriesAt = Date.now();
  }

  private async watermarks(topic: string, partition: number, firstOffset: number): Promise<Marks> {
    const key = `${topic}/${partition}`;
    const known = this.marks.get(key);
    if (known && known.next === firstOffset && !this.verifyMarks) return known;
    // First batch of this partition here, or a rewind (crash, rebalance): ask ClickHouse what it holds.
    const m = await loadMarks(this.deps.ch, topic, partition, firstOffset);
    if (!known && m.events >= 0) {
      const events = await seedFromStored(this.deps.ch, { topic, partition, after: m.events - this.seedEvents }, { recentIds: this.recentIds, sessions: this.sessions });
      this.deps.log.debug({ topic, partition, events }, 'transformer state seeded from stored events');
    }
    this.marks.set(key, m);
    return m;
  }

  /**
   * The log's batch handler. Throws (so the log retries the batch) if any insert fails.
   * A large batch is cut into a few chunks and pipelined: while ClickHouse stores chunk k (on its own
   * threads), this thread prepares chunk k+1. Within a chunk the tables are written in order, events last;
   * chunks are stored in order, and the marks advance per stored chunk, so a retry skips what is stored.
   */
  handle = async (batch: LogBatch): Promise<void> => {
    const started = performance.now();
    if (Date.now() - this.refreshedAt > REFRESH_MS) await this.refresh({ countries: Date.now() - this.countriesAt > COUNTRIES_REFRESH_MS });
    const mark = await this.watermarks(batch.topic, batch.partition, batch.firstOffset);
    const steps = this.stepsFor(mark);
    const n = batch.records.length;
    const chunks = Math.max(1, Math.min(PIPELINE_CHUNKS, Math.floor(n / this.chunkRows)));
    const size = Math.ceil(n / chunks);
    const starts: number[] = [];
    const prepared: PreparedChunk[] = [];
    let stored = 0;
    let inflight: Promise<void> | null = null;
    let prepareMs = 0;
    try {
      for (let from = 0; from < n; from += size) {
        starts.push(this.sessions.checkpoint());
        const t = performance.now();
        const chunk = await this.prepareChunk(batch, from, Math.min(n, from + size), mark, steps);
        prepareMs += performance.now() - t;
        prepared.push(chunk);
        if (inflight) await inflight;
        inflight = this.storeChunk(chunk, mark).then(() => void (stored += 1));
        inflight.catch(() => {}); // observed below; keeps a failure from counting as unhandled meanwhile
      }
      if (inflight) await inflight;
    } catch (err) {
      if (inflight) await inflight.catch(() => {});
      for (const c of prepared.slice(stored)) for (const p of c.writes) p.discard();
      if (stored < starts.length) this.sessions.rollbackTo(starts[stored]!);
      this.sessions.commit();
      this.stats.failedBatches += 1;
      throw err;
    }
    this.sessions.commit();
    mark.next = batch.lastOffset + 1;

    const s = this.stats;
    const total = performance.now() - started;
    s.batches += 1;
    s.eventsIn += n;
    s.prepareMs += prepareMs;
    s.insertMs += total - prepareMs;
    s.lastInsertAt = Date.now();
    this.rateIn.add(n);
    if (this.failing) this.deps.log.info({ retries: this.failing.retries, sinceMs: Date.now() - this.failing.since }, 'transform batches stored again');
    this.failing = null;
  };

  private noteFailure(err: unknown): void {
    const now = Date.now();
    // ClickHouse messages can quote a whole statement: the start says what failed.
    const lastError = (err instanceof Error ? err.message : String(err)).slice(0, 500);
    this.failing = { since: this.failing?.since ?? now, retries: (this.failing?.retries ?? 0) + 1, lastError, lastErrorAt: now };
  }

  /** Erasure: drops the person's open visits and cached country (an ErasureHolder, see bin/services.ts). */
  async forget(ids: { customers: readonly string[]; anonymous: readonly string[] }): Promise<void> {
    this.sessions.forget(ids);
    this.countries.forget(ids.customers);
  }

  holds(ids: { customers: readonly string[]; anonymous: readonly string[] }): boolean {
    return this.sessions.holds(ids) || this.countries.holdsAny(ids.customers);
  }

  /** The steps for one batch: this batch's rates and marks, and a fresh set of ids seen in it. */
  private stepsFor(mark: Marks) {
    const { config, protectTraits } = this.deps;
    return recordSteps({
      ctx: {
        fx: this.fx,
        baseCurrency: config.baseCurrency,
        customerCountry: this.countries.get,
        learnCountry: this.countries.learn,
        identityVerification: config.identityVerification,
        ...(protectTraits ? { protectTraits } : {}),
      },
      dedupe: { seen: new Set<string>(), stored: this.recentIds },
      sessions: this.sessions,
      storedAt: (at) => at.log_offset <= mark.events, // stored before a crash or rebalance
    });
  }

  /** Records [from, to) of the batch → rows, serialised and ready to send. Yields now and then so the previous chunk's inserts move on. */
  private async prepareChunk(batch: LogBatch, from: number, to: number, mark: Marks, steps: ReturnType<EventsTransformer['stepsFor']>): Promise<PreparedChunk> {
    const rows = new ChunkRows(mark);
    const { topic, partition } = batch;
    for (let i = from; i < to; i++) {
      if ((i - from) % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
      const rec = batch.records[i]!;
      const at = { log_topic: topic, log_partition: partition, log_offset: rec.offset };
      const parsed = parseRecord(rec.value);
      if (parsed.kind === 'ok') rows.add(steps({ record: parsed.value, at }), at, { record: parsed.value });
      else rows.add(parsed, at, { text: rec.value, loggedAt: rec.timestamp });
    }
    return rows.prepare(this.writer, `${topic}:${partition}:${batch.records[from]!.offset}-${batch.records[to - 1]!.offset}`);
  }

  /** Inserts one prepared chunk, table by table; then its records count as stored. */
  private async storeChunk(c: PreparedChunk, mark: Marks): Promise<void> {
    await sendChunk(c);
    for (const id of c.eventIds) this.recentIds.remember(id);
    advanceMarks(mark, c);
    const s = this.stats;
    s.eventsOut += c.eventIds.length;
    s.rejected += c.rejectReasons.length;
    s.duplicates += c.duplicates;
    this.rateOut.add(c.eventIds.length);
    for (const r of c.rejectReasons) if (s.rejectsByReason.size < 1000 || s.rejectsByReason.has(r)) s.rejectsByReason.set(r, (s.rejectsByReason.get(r) ?? 0) + 1);
  }

  async start(eventLog: EventLog): Promise<Consumer> {
    this.verifyMarks = eventLog.kind === 'kafka';
    await this.refresh();
    return eventLog.consume({
      topic: this.deps.source?.topic ?? this.deps.config.topics.events,
      group: this.deps.source?.group ?? TRANSFORM_GROUP,
      handler: this.handle,
      maxBatch: this.deps.source?.maxBatch ?? this.deps.config.transform.batchMax,
      maxWaitMs: this.deps.config.transform.flushMs,
      onError: (err, attempt) => {
        this.noteFailure(err);
        this.deps.log.warn({ err, attempt }, 'transform batch failed; the log keeps it and retries');
      },
    });
  }
}
