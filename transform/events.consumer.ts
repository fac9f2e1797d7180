// The transformer: consumes the raw event log in batches, standardises each record, and inserts
// thousands of rows per ClickHouse insert. Offsets are committed by the log only after this handler
// resolves, i.e. after ClickHouse acknowledged every insert. Re-deliveries are harmless:
//  - each table's insert carries insert_deduplication_token (topic, partition, offsets), and
//  - rows of records at or below the partition's stored high-water mark are skipped, which also covers
//    a re-delivered batch whose boundaries differ from the first attempt.
import crypto from 'node:crypto';
import type { ClickHouse } from '../lib/clickhouse.ts';
import { chTime } from '../lib/clickhouse.ts';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import type { Consumer, EventLog, LogBatch } from '../lib/eventlog/types.ts';
import type { CollectedRecord } from '../ingest/contract.ts';
import { FxTable } from './fx.ts';
import { standardise, type CustomerRow, type EventRow, type IdentityRow, type OrderItemRow, type StandardiseContext } from './standardise.ts';

export const TRANSFORM_GROUP = 'transform';

interface RejectRow {
  reject_id: string; received_at: string; source: string; site: string; event_id: string; field: string; reason: string; raw: string;
  log_topic: string; log_partition: number; log_offset: number;
}

type Located<T> = T & { log_topic: string; log_partition: number; log_offset: number };

export interface TransformStats {
  batches: number;
  eventsIn: number;
  eventsOut: number;
  rejected: number;
  duplicates: number;
  lastInsertAt: number | null;
  rejectsByReason: Map<string, number>;
}

/** Deterministic id for a dead-letter row, so a re-delivered reject folds into the same row. */
function rejectId(topic: string, partition: number, offset: number): string {
  const h = crypto.createHash('sha1').update(`${topic}/${partition}/${offset}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export class EventsTransformer {
  readonly stats: TransformStats = { batches: 0, eventsIn: 0, eventsOut: 0, rejected: 0, duplicates: 0, lastInsertAt: null, rejectsByReason: new Map() };
  private fx: FxTable = FxTable.fromRows([]);
  private fxLoadedAt = 0;
  /** Highest offset already stored per `${topic}/${partition}` and table, and the next offset expected. */
  private readonly marks = new Map<string, { events: number; rejects: number; next: number }>();
  /** Recently stored event ids: a client retry that reached the log twice is dropped before insert. */
  private readonly recentIds = new Set<string>();
  private readonly recentCap = 500_000;

  constructor(
    private readonly deps: { ch: ClickHouse; config: Config; log: Logger; protectTraits?: StandardiseContext['protectTraits'] },
  ) {}

  async refreshFx(): Promise<void> {
    this.fx = await FxTable.load(this.deps.ch);
    this.fxLoadedAt = Date.now();
  }

  private async watermarks(topic: string, partition: number, firstOffset: number): Promise<{ events: number; rejects: number; next: number }> {
    const key = `${topic}/${partition}`;
    const known = this.marks.get(key);
    if (known && known.next === firstOffset) return known;
    // First batch of this partition here, or a rewind (crash, rebalance): ask ClickHouse what it holds.
    const [row] = await this.deps.ch.rows<{ ev: string; rj: string }>(
      `SELECT
         (SELECT if(count() = 0, -1, toInt64(max(log_offset))) FROM events WHERE log_topic = {t:String} AND log_partition = {p:UInt32}) AS ev,
         (SELECT if(count() = 0, -1, toInt64(max(log_offset))) FROM events_rejected WHERE log_topic = {t:String} AND log_partition = {p:UInt32}) AS rj`,
      { t: topic, p: partition },
    );
    const m = { events: Number(row?.ev ?? -1), rejects: Number(row?.rj ?? -1), next: firstOffset };
    this.marks.set(key, m);
    return m;
  }

  private remember(id: string): void {
    if (this.recentIds.size >= this.recentCap) {
      // Drop the oldest half; Set iterates in insertion order.
      let n = this.recentCap / 2;
      for (const old of this.recentIds) {
        this.recentIds.delete(old);
        if (--n <= 0) break;
      }
    }
    this.recentIds.add(id);
  }

  /** The log's batch handler. Throws (so the log retries the batch) if any insert fails. */
  handle = async (batch: LogBatch): Promise<void> => {
    const { ch, config } = this.deps;
    if (Date.now() - this.fxLoadedAt > 60_000) await this.refreshFx();
    const mark = await this.watermarks(batch.topic, batch.partition, batch.firstOffset);
    const ctx: StandardiseContext = { fx: this.fx, baseCurrency: config.baseCurrency, ...(this.deps.protectTraits ? { protectTraits: this.deps.protectTraits } : {}) };
    const loc = { log_topic: batch.topic, log_partition: batch.partition };
    const events: Array<Located<EventRow>> = [];
    const items: OrderItemRow[] = [];
    const identities: IdentityRow[] = [];
    const customers: CustomerRow[] = [];
    const rejects: RejectRow[] = [];
    const seen = new Set<string>();
    let duplicates = 0;

    for (const rec of batch.records) {
      let parsed: CollectedRecord;
      try {
        parsed = JSON.parse(rec.value) as CollectedRecord;
        if (!parsed || typeof parsed !== 'object' || typeof parsed.received_at !== 'number' || typeof parsed.site !== 'string') throw new Error('not a collector record');
      } catch (err) {
        if (rec.offset > mark.rejects)
          rejects.push({
            reject_id: rejectId(batch.topic, batch.partition, rec.offset), received_at: chTime(rec.timestamp), source: 'log', site: '', event_id: '',
            field: 'record', reason: `malformed log record: ${(err as Error).message}`.slice(0, 500), raw: rec.value.slice(0, 65_536), ...loc, log_offset: rec.offset,
          });
        continue;
      }
      const r = standardise(parsed, ctx);
      if (!r.ok) {
        if (rec.offset > mark.rejects)
          rejects.push({
            reject_id: rejectId(batch.topic, batch.partition, rec.offset), received_at: chTime(r.receivedAt), source: parsed.source ?? 'collector', site: r.site,
            event_id: r.eventId, field: r.problem.field, reason: r.problem.reason, raw: JSON.stringify(parsed.event ?? null).slice(0, 65_536), ...loc, log_offset: rec.offset,
          });
        continue;
      }
      if (rec.offset <= mark.events) continue; // stored before a crash or rebalance
      const id = r.event.event_id;
      if (seen.has(id) || this.recentIds.has(id)) {
        duplicates += 1;
        continue;
      }
      seen.add(id);
      events.push({ ...r.event, ...loc, log_offset: rec.offset });
      items.push(...r.items);
      if (r.identity) identities.push(r.identity);
      if (r.customer) customers.push(r.customer);
    }

    const token = (table: string) => ({ insert_deduplication_token: `${batch.topic}:${batch.partition}:${batch.firstOffset}-${batch.lastOffset}:${table}` });
    // Events last: its high-water mark is what says the batch is fully stored.
    await ch.insert('events_rejected', rejects, token('events_rejected'));
    await ch.insert('order_items', items, token('order_items'));
    await ch.insert('identities', identities, token('identities'));
    await ch.insert('customers', customers, token('customers'));
    await ch.insert('events', events, token('events'));

    for (const e of events) this.remember(e.event_id);
    if (events.length) mark.events = events[events.length - 1]!.log_offset;
    if (rejects.length) mark.rejects = rejects[rejects.length - 1]!.log_offset;
    mark.next = batch.lastOffset + 1;
    const s = this.stats;
    s.batches += 1;
    s.eventsIn += batch.records.length;
    s.eventsOut += events.length;
    s.rejected += rejects.length;
    s.duplicates += duplicates;
    s.lastInsertAt = Date.now();
    for (const r of rejects) s.rejectsByReason.set(r.reason, (s.rejectsByReason.get(r.reason) ?? 0) + 1);
  };

  async start(eventLog: EventLog): Promise<Consumer> {
    await this.refreshFx();
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
