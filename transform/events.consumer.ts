// The transformer: consumes the raw event log in batches, standardises each record, assigns server-side
// sessions, and inserts thousands of rows per ClickHouse insert. Offsets are committed by the log only
// after this handler resolves, i.e. after ClickHouse acknowledged every insert; when an insert fails the
// handler throws and the log hands the same records over again with backoff. Re-deliveries are harmless:
//  - each table's insert carries insert_deduplication_token (topic, partition, offsets),
//  - rows of records at or below the partition's stored high-water mark (per table) are skipped, which
//    also covers a re-delivered batch whose boundaries differ from the first attempt, and
//  - event ids stored recently (in memory; refilled from ClickHouse after a restart) are skipped, which
//    covers a client that sent the same events twice.
// Memory is bounded: recent ids, visitor sessions and customer countries are capped maps.
import crypto from 'node:crypto';
import type { ClickHouse } from '../lib/clickhouse.ts';
import { chTime } from '../lib/clickhouse.ts';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import { sql } from '../lib/sql.ts';
import type { Consumer, EventLog, LogBatch } from '../lib/eventlog/types.ts';
import type { CollectedRecord } from '../ingest/contract.ts';
import { FxTable } from './fx.ts';
import { RateMeter } from './rate-meter.ts';
import { Sessioniser } from './sessionise.ts';
import { standardise, type CustomerRow, type EventRow, type IdentityRow, type OrderItemRow, type StandardiseContext } from './standardise.ts';

export const TRANSFORM_GROUP = 'transform';
/** Rates and customer countries are re-read this often, so `cvm fx import` reaches a running transformer. */
export const REFRESH_MS = 60_000;

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
  lastInsertAt: number | null;
  rejectsByReason: Map<string, number>;
}

interface Marks { events: number; rejects: number; items: number; next: number }

/** Deterministic id for a dead-letter row, so a re-delivered reject folds into the same row. */
export function rejectId(topic: string, partition: number, offset: number): string {
  const h = crypto.createHash('sha1').update(`${topic}/${partition}/${offset}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
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
  readonly stats: TransformStats = { batches: 0, eventsIn: 0, eventsOut: 0, rejected: 0, duplicates: 0, failedBatches: 0, lastInsertAt: null, rejectsByReason: new Map() };
  readonly rateIn = new RateMeter(60);
  readonly rateOut = new RateMeter(60);
  private fx: FxTable = FxTable.fromRows([]);
  private refreshedAt = 0;
  private readonly marks = new Map<string, Marks>();
  /** Recently stored event ids: a client retry that reached the log twice is dropped before insert. */
  private readonly recentIds = new Set<string>();
  private readonly sessions: Sessioniser;
  private readonly countries = new Map<string, string>();
  private readonly caps: { recentIds: number; countries: number; seedEvents: number };

  constructor(
    private readonly deps: {
      ch: ClickHouse;
      config: Config;
      log: Logger;
      protectTraits?: StandardiseContext['protectTraits'];
      caps?: Partial<{ recentIds: number; visitors: number; countries: number; seedEvents: number }>;
    },
  ) {
    this.caps = { recentIds: deps.caps?.recentIds ?? 500_000, countries: deps.caps?.countries ?? 1_000_000, seedEvents: deps.caps?.seedEvents ?? 100_000 };
    this.sessions = new Sessioniser(deps.caps?.visitors ?? 200_000);
  }

  /** Re-reads exchange rates and customer countries now (after `cvm fx import`, or every REFRESH_MS). */
  async refresh(): Promise<void> {
    const { ch } = this.deps;
    const fx = await FxTable.load(ch);
    const rows = await ch.rows<{ customer_id: string; country: string }>(sql('transform/customer-countries'), { cap: this.caps.countries });
    this.fx = fx;
    this.countries.clear();
    for (const r of rows) this.countries.set(r.customer_id, r.country);
    this.refreshedAt = Date.now();
  }

  /** Same as refresh() (the name `cvm import transactions` calls). */
  refreshFx(): Promise<void> {
    return this.refresh();
  }

  private async watermarks(topic: string, partition: number, firstOffset: number): Promise<Marks> {
    const key = `${topic}/${partition}`;
    const known = this.marks.get(key);
    if (known && known.next === firstOffset) return known;
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

  /** The log's batch handler. Throws (so the log retries the batch) if any insert fails. */
  handle = async (batch: LogBatch): Promise<void> => {
    const { ch, config } = this.deps;
    if (Date.now() - this.refreshedAt > REFRESH_MS) await this.refresh();
    const mark = await this.watermarks(batch.topic, batch.partition, batch.firstOffset);
    const ctx: StandardiseContext = {
      fx: this.fx,
      baseCurrency: config.baseCurrency,
      customerCountry: this.customerCountry,
      ...(this.deps.protectTraits ? { protectTraits: this.deps.protectTraits } : {}),
    };
    const events: EventRow[] = [];
    const items: OrderItemRow[] = [];
    const identities: IdentityRow[] = [];
    const customers: CustomerRow[] = [];
    const rejects: RejectRow[] = [];
    const seen = new Set<string>();
    let duplicates = 0;
    const loc = { log_topic: batch.topic, log_partition: batch.partition, log_offset: 0 };

    this.sessions.begin();
    try {
      for (const rec of batch.records) {
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

      const token = (table: string) => ({ insert_deduplication_token: `${batch.topic}:${batch.partition}:${batch.firstOffset}-${batch.lastOffset}:${table}` });
      // Events last: its high-water mark is what says the batch is fully stored.
      await ch.insert('events_rejected', rejects, token('events_rejected'));
      await ch.insert('order_items', items, token('order_items'));
      await ch.insert('identities', identities, token('identities'));
      await ch.insert('customers', customers, token('customers'));
      await ch.insert('events', events, token('events'));
    } catch (err) {
      this.sessions.rollback();
      this.stats.failedBatches += 1;
      throw err;
    }
    this.sessions.commit();

    for (const e of events) this.remember(e.event_id);
    if (events.length) mark.events = events[events.length - 1]!.log_offset;
    if (items.length) mark.items = items[items.length - 1]!.log_offset;
    if (rejects.length) mark.rejects = rejects[rejects.length - 1]!.log_offset;
    mark.next = batch.lastOffset + 1;
    const s = this.stats;
    s.batches += 1;
    s.eventsIn += batch.records.length;
    s.eventsOut += events.length;
    s.rejected += rejects.length;
    s.duplicates += duplicates;
    s.lastInsertAt = Date.now();
    this.rateIn.add(batch.records.length);
    this.rateOut.add(events.length);
    for (const r of rejects) if (s.rejectsByReason.size < 1000 || s.rejectsByReason.has(r.reason)) s.rejectsByReason.set(r.reason, (s.rejectsByReason.get(r.reason) ?? 0) + 1);
  };

  private setCountry(customerId: string, country: string): void {
    if (this.countries.size >= this.caps.countries && !this.countries.has(customerId)) {
      const first = this.countries.keys().next();
      if (!first.done) this.countries.delete(first.value);
    }
    this.countries.set(customerId, country);
  }

  async start(eventLog: EventLog): Promise<Consumer> {
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
