// One chunk's step results gathered per table, then serialised for the row writer. Dead letters become
// events_rejected rows here (dead-letter.ts), so the log consumer and the import share one path.
import type { PipelineResult } from './pipeline-result.ts';
import { deadLetterRow, type RejectSource } from './dead-letter.ts';
import type { PreparedRows, RowWriter } from './row-writer.ts';
import { DUPLICATE } from './steps/dedupe.ts';
import type { EventRows } from './steps/rows.ts';
import type { Marks } from './stored-marks.ts';
import type { CustomerRow, EventRow, IdentityRow, LogPosition, OrderItemRow, RejectRow } from './table-rows.ts';

/** A chunk serialised, with what storing it means for the marks and the stats. */
export interface PreparedChunk {
  token: string;
  writes: PreparedRows[];
  eventIds: string[];
  lastEvent: number;
  lastItem: number;
  lastReject: number;
  rejectReasons: string[];
  duplicates: number;
}

export class ChunkRows {
  private readonly events: EventRow[] = [];
  private readonly items: OrderItemRow[] = [];
  private readonly identities: IdentityRow[] = [];
  private readonly customers: CustomerRow[] = [];
  private readonly rejects: RejectRow[] = [];
  private duplicates = 0;

  /** `marks`: rejects and order lines at or below them are stored already (read as the chunk is filled). */
  constructor(private readonly marks: Pick<Marks, 'rejects' | 'items'>) {}

  add(result: PipelineResult<EventRows>, at: LogPosition, from: RejectSource): void {
    if (result.kind === 'ok') {
      const r = result.value;
      this.events.push(r.event);
      if (at.log_offset > this.marks.items) for (const it of r.items) this.items.push(it);
      if (r.identity) this.identities.push(r.identity);
      if (r.customer) this.customers.push(r.customer);
    } else if (result.kind === 'dlq') {
      if (at.log_offset > this.marks.rejects) this.rejects.push(deadLetterRow(result, at, from));
    } else if (result.reason === DUPLICATE) {
      this.duplicates += 1;
    }
  }

  /** Serialised for ClickHouse; events last, since its high-water mark says the records are fully stored. */
  prepare(writer: RowWriter, token: string): PreparedChunk {
    const { events, items, rejects } = this;
    const writes = [
      writer.prepare('events_rejected', rejects), writer.prepare('order_items', items), writer.prepare('identities', this.identities),
      writer.prepare('customers', this.customers), writer.prepare('events', events),
    ].filter((x): x is PreparedRows => x !== null);
    return {
      token,
      writes,
      eventIds: events.map((e) => e.event_id),
      lastEvent: events.length ? events[events.length - 1]!.log_offset : -1,
      lastItem: items.length ? items[items.length - 1]!.log_offset : -1,
      lastReject: rejects.length ? rejects[rejects.length - 1]!.log_offset : -1,
      rejectReasons: rejects.map((r) => r.reason),
      duplicates: this.duplicates,
    };
  }
}

/** Inserts a prepared chunk table by table, in order; each insert carries its own deduplication token. */
export async function sendChunk(c: PreparedChunk): Promise<void> {
  for (const w of c.writes) await w.send(`${c.token}:${w.table}`);
}

/** After a chunk is stored: the marks move past it. */
export function advanceMarks(marks: Marks, c: PreparedChunk): void {
  if (c.lastEvent >= 0) marks.events = c.lastEvent;
  if (c.lastItem >= 0) marks.items = c.lastItem;
  if (c.lastReject >= 0) marks.rejects = c.lastReject;
}
