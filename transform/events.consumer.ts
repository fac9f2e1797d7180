// The transformer: consumes the raw event log in batches, standardises each record, assigns server-side
// sessions, and inserts thousands of rows per ClickHouse insert. Offsets are committed by the log only
// after this handler resolves, i.e. after ClickHouse acknowledged every insert; when an insert fails the
// handler throws and the log hands the same records over again with backoff. Re-deliveries are harmless:
//  - each table's insert carries insert_deduplication_token (topic, partition, offsets),
//  - rows of records at or below the partition's stored high-water mark (per table) are skipped, which
//    also covers a re-delivered batch whose boundaries differ from the first attempt, and
//  - event ids stored recently (in memory; refilled from ClickHouse after a restart) are skipped, which
//    covers a client that sent the same events twice.
// Memory is bounded: recent ids, visitor sessions and customer countries are capped maps; a batch is at most
// CVM_TRANSFORM_BATCH_MAX records. How rows reach ClickHouse (client insert, or a file for chDB) is row-writer.ts.
import { sha1Uuid } from '../lib/ids.ts';
import type { ClickHouse } from '../lib/clickhouse.ts';
import { chTime } from '../lib/clickhouse.ts';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import { sql } from '../lib/sql.ts';
import type { Consumer, EventLog, LogBatch } from '../lib/eventlog/types.ts';
import type { CollectedRecord } from '../ingest/contract.ts';
import { FxTable } from './fx.ts';
import { RateMeter } from './rate-meter.ts';
import { rowWriter, type PreparedRows, type RowWriter } from './row-writer.ts';
import { Sessioniser } from './sessionise.ts';
import { standardise, type CustomerRow, type EventRow, type IdentityRow, type OrderItemRow, type StandardiseContext } from './standardise.ts';

export const TRANSFORM_GROUP = 'transform';
/** Rates are re-read this often, so `cvm fx import` reaches a running transformer. */
export const REFRESH_MS = 60_000;
/** Customer countries (a bigger read) this often; identify events update them as they pass anyway. */
export const COUNTRIES_REFRESH_MS = 10 * 60_000;

export interface RejectRow {
  reject_id: string; received_at: string; source: string; site: string; event_id: string; field: string; reason: string; raw: string;
  user_agent: string; log_topic: string; log_partition: number; log_offset: number;
}

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

interface Marks { events: number; rejects: number; items: number; next: number }

/** One chunk of a batch, serialised, with what storing it means for the marks and the stats. */
interface PreparedChunk {
  token: string;
  writes: PreparedRows[];
  eventIds: string[];
  lastEvent: number;
  lastItem: number;
  lastReject: number;
  rejectReasons: string[];
  duplicates: number;
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

/** Deterministic id for a dead-letter row, so a re-delivered reject folds into the same row. */
export function rejectId(topic: string, partition: number, offset: number): string {
  return sha1Uuid(`${topic}/${partition}/${offset}`);
}

// Back-office events never start a visit: a refund days later or an imported order is not a session.
const NON_VISIT_TYPES = new Set(['refund', 'identify', 'alias']);

// JSON may carry lone UTF-16 surrogates ("\ud800"); ClickHouse rejects them as invalid UTF-8 and the
// whole insert would fail forever. Only records that contain one pay for the reviver.
const LONE_SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;
const wellFormed = (_k: string, v: unknown) => (typeof v === 'string' ? v.toWellFormed() : v);
function parseRecord(text: string): CollectedRecord {
  return (LONE_SURROGATE_ESCAPE.test(text) ? JSON.parse(text, wellFormed) : JSON.parse(text)) as CollectedRecord;
}

export class EventsTransformer {
  readonly stats: TransformStats = { batches: 0, eventsIn: 0, eventsOut: 0, rejected: 0, duplicates: 0, failedBatches: 0, prepareMs: 0, insertMs: 0, lastInsertAt: null, rejectsByReason: new Map() };
  readonly rateIn = new RateMeter(60);
  readonly rateOut = new RateMeter(60);
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
  /** Recently stored event ids: a client retry that reached the log twice is dropped before insert. */
  private readonly recentIds = new Set<string>();
  private readonly sessions: Sessioniser;
  private readonly countries = new Map<string, string>();
  private readonly caps: { recentIds: number; countries: number; seedEvents: number; chunkRows: number };
  private readonly writer: RowWriter;

  constructor(
    private readonly deps: {
      ch: ClickHouse;
      config: Config;
      log: Logger;
      protectTraits?: StandardiseContext['protectTraits'];
      caps?: Partial<{ recentIds: number; visitors: number; countries: number; seedEvents: number; chunkRows: number }>;
    },
  ) {
    this.caps = {
      recentIds: deps.caps?.recentIds ?? 500_000,
      countries: deps.caps?.countries ?? 1_000_000,
      seedEvents: deps.caps?.seedEvents ?? 100_000,
      chunkRows: deps.caps?.chunkRows ?? CHUNK_MIN,
    };
    this.sessions = new Sessioniser(deps.caps?.visitors ?? 200_000);
    this.writer = rowWriter(deps.ch, deps.config.dataDir);
  }

  /** Re-reads exchange rates and customer countries now (after `cvm fx import`; on its own every REFRESH_MS). */
  async refresh(opts: { countries?: boolean } = {}): Promise<void> {
    const { ch } = this.deps;
    this.fx = await FxTable.load(ch);
    this.refreshedAt = Date.now();
    if (opts.countries === false) return;
    const rows = await ch.rows<{ customer_id: string; country: string }>(sql('transform/customer-countries'), { cap: this.caps.countries });
    this.countries.clear();
    for (const r of rows) this.countries.set(r.customer_id, r.country);
    this.countriesAt = Date.now();
  }

  /** Same as refresh() (the name `cvm import transactions` calls). */
  refreshFx(): Promise<void> {
    return this.refresh();
  }

  private async watermarks(topic: string, partition: number, firstOffset: number): Promise<Marks> {
    const key = `${topic}/${partition}`;
    const known = this.marks.get(key);
    if (known && known.next === firstOffset && !this.verifyMarks) return known;
    // First batch of this partition here, or a rewind (crash, rebalance): ask ClickHouse what it holds.
    const [row] = await this.deps.ch.rows<{ ev: string; rj: string; it: string }>(sql('transform/watermarks'), { t: topic, p: partition });
    const m: Marks = { events: Number(row?.ev ?? -1), rejects: Number(row?.rj ?? -1), items: Number(row?.it ?? -1), next: firstOffset };
    if (!known && m.events >= 0) await this.seed(topic, partition, m.events);
    this.marks.set(key, m);
    return m;
  }

  /** After a restart: the newest stored events refill the recent ids and the visitors' open sessions. */
  private async seed(topic: string, partition: number, highWater: number): Promise<void> {
    const rows = await this.deps.ch.rows<{ event_id: string; site: string; anonymous_id: string; customer_id: string; session_id: string; ts_ms: string }>(
      sql('transform/recent-events'),
      { t: topic, p: partition, from: highWater - this.caps.seedEvents },
    );
    for (const r of rows) {
      this.remember(r.event_id);
      if (r.session_id) this.sessions.assign({ site: r.site, anonymousId: r.anonymous_id, customerId: r.customer_id, sessionId: r.session_id, tsMs: Number(r.ts_ms), opens: true });
    }
    this.deps.log.debug({ topic, partition, events: rows.length }, 'transformer state seeded from stored events');
  }

  private remember(id: string): void {
    if (this.recentIds.size >= this.caps.recentIds) {
      // Drop the oldest half; Set iterates in insertion order.
      let n = this.caps.recentIds / 2;
      for (const old of this.recentIds) {
        this.recentIds.delete(old);
        if (--n <= 0) break;
      }
    }
    this.recentIds.add(id);
  }

  private readonly customerCountry = (customerId: string): string | undefined => this.countries.get(customerId);

  /**
   * The log's batch handler. Throws (so the log retries the batch) if any insert fails.
   * A large batch is cut into a few chunks and pipelined: while ClickHouse stores chunk k (on its own
   * threads), this thread prepares chunk k+1. Within a chunk the tables are written in order, events last;
   * chunks are stored in order, and the marks advance per stored chunk, so a retry skips what is stored.
   */
  handle = async (batch: LogBatch): Promise<void> => {
    const { config } = this.deps;
    const started = performance.now();
    if (Date.now() - this.refreshedAt > REFRESH_MS) await this.refresh({ countries: Date.now() - this.countriesAt > COUNTRIES_REFRESH_MS });
    const mark = await this.watermarks(batch.topic, batch.partition, batch.firstOffset);
    const ctx: StandardiseContext = {
      fx: this.fx,
      baseCurrency: config.baseCurrency,
      customerCountry: this.customerCountry,
      identityVerification: config.identityVerification,
      ...(this.deps.protectTraits ? { protectTraits: this.deps.protectTraits } : {}),
    };
    const seen = new Set<string>();
    const n = batch.records.length;
    const chunks = Math.max(1, Math.min(PIPELINE_CHUNKS, Math.floor(n / this.caps.chunkRows)));
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
        const chunk = await this.prepareChunk(batch, from, Math.min(n, from + size), mark, ctx, seen);
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
  };

  /** Records [from, to) of the batch → rows, serialised and ready to send. Yields now and then so the previous chunk's inserts move on. */
  private async prepareChunk(batch: LogBatch, from: number, to: number, mark: Marks, ctx: StandardiseContext, seen: Set<string>): Promise<PreparedChunk> {
    const events: EventRow[] = [];
    const items: OrderItemRow[] = [];
    const identities: IdentityRow[] = [];
    const customers: CustomerRow[] = [];
    const rejects: RejectRow[] = [];
    let duplicates = 0;
    const loc = { log_topic: batch.topic, log_partition: batch.partition, log_offset: 0 };
    for (let i = from; i < to; i++) {
      if ((i - from) % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
      const rec = batch.records[i]!;
      let parsed: CollectedRecord;
      try {
        parsed = parseRecord(rec.value);
        if (!parsed || typeof parsed !== 'object' || typeof parsed.received_at !== 'number' || typeof parsed.site !== 'string') throw new Error('not a collector record');
      } catch (err) {
        if (rec.offset > mark.rejects)
          rejects.push({
            reject_id: rejectId(batch.topic, batch.partition, rec.offset), received_at: chTime(rec.timestamp), source: 'log', site: '', event_id: '',
            field: 'record', reason: `malformed log record: ${(err as Error).message}`.slice(0, 500), raw: rec.value.slice(0, 65_536), user_agent: '',
            log_topic: batch.topic, log_partition: batch.partition, log_offset: rec.offset,
          });
        continue;
      }
      loc.log_offset = rec.offset;
      const r = standardise(parsed, ctx, loc);
      if (!r.ok) {
        if (rec.offset > mark.rejects)
          rejects.push({
            reject_id: rejectId(batch.topic, batch.partition, rec.offset), received_at: chTime(r.receivedAt), source: parsed.source ?? 'collector', site: r.site,
            event_id: r.eventId, field: r.problem.field, reason: r.problem.reason, raw: JSON.stringify(parsed.event ?? null).slice(0, 65_536),
            user_agent: typeof parsed.user_agent === 'string' ? parsed.user_agent.slice(0, 1024) : '',
            log_topic: batch.topic, log_partition: batch.partition, log_offset: rec.offset,
          });
        continue;
      }
      const ev = r.event;
      const id = ev.event_id;
      if (rec.offset <= mark.events) continue; // stored before a crash or rebalance
      if (seen.has(id) || this.recentIds.has(id)) {
        duplicates += 1;
        continue;
      }
      seen.add(id);
      ev.session_id = this.sessions.assign({
        site: ev.site, anonymousId: ev.anonymous_id, customerId: ev.customer_id, sessionId: ev.session_id, tsMs: r.tsMs,
        opens: parsed.source !== 'import' && !NON_VISIT_TYPES.has(ev.type),
      });
      events.push(ev);
      if (rec.offset > mark.items) for (const it of r.items) items.push(it);
      if (r.identity) identities.push(r.identity);
      if (r.customer) {
        customers.push(r.customer);
        if (r.customer.country) this.setCountry(r.customer.customer_id, r.customer.country);
      }
    }
    const first = batch.records[from]!.offset;
    const last = batch.records[to - 1]!.offset;
    const w = this.writer;
    // Events last: its high-water mark is what says the records are fully stored.
    const writes = [
      w.prepare('events_rejected', rejects), w.prepare('order_items', items), w.prepare('identities', identities), w.prepare('customers', customers), w.prepare('events', events),
    ].filter((x): x is PreparedRows => x !== null);
    return {
      token: `${batch.topic}:${batch.partition}:${first}-${last}`,
      writes,
      eventIds: events.map((e) => e.event_id),
      lastEvent: events.length ? events[events.length - 1]!.log_offset : -1,
      lastItem: items.length ? items[items.length - 1]!.log_offset : -1,
      lastReject: rejects.length ? rejects[rejects.length - 1]!.log_offset : -1,
      rejectReasons: rejects.map((r) => r.reason),
      duplicates,
    };
  }

  /** Inserts one prepared chunk, table by table; then its records count as stored. */
  private async storeChunk(c: PreparedChunk, mark: Marks): Promise<void> {
    for (const w of c.writes) await w.send(`${c.token}:${w.table}`);
    for (const id of c.eventIds) this.remember(id);
    if (c.lastEvent >= 0) mark.events = c.lastEvent;
    if (c.lastItem >= 0) mark.items = c.lastItem;
    if (c.lastReject >= 0) mark.rejects = c.lastReject;
    const s = this.stats;
    s.eventsOut += c.eventIds.length;
    s.rejected += c.rejectReasons.length;
    s.duplicates += c.duplicates;
    this.rateOut.add(c.eventIds.length);
    for (const r of c.rejectReasons) if (s.rejectsByReason.size < 1000 || s.rejectsByReason.has(r)) s.rejectsByReason.set(r, (s.rejectsByReason.get(r) ?? 0) + 1);
  }

  private setCountry(customerId: string, country: string): void {
    if (this.countries.size >= this.caps.countries && !this.countries.has(customerId)) {
      const first = this.countries.keys().next();
      if (!first.done) this.countries.delete(first.value);
    }
    this.countries.set(customerId, country);
  }

  async start(eventLog: EventLog): Promise<Consumer> {
    this.verifyMarks = eventLog.kind === 'kafka';
    await this.refresh();
    return eventLog.consume({
      topic: this.deps.config.topics.events,
      group: TRANSFORM_GROUP,
      handler: this.handle,
      maxBatch: this.deps.config.transform.batchMax,
      maxWaitMs: this.deps.config.transform.flushMs,
      onError: (err, attempt) => this.deps.log.warn({ err, attempt }, 'transform batch failed; the log keeps it and retries'),
    });
  }
}
