// Where step results become table rows (chunk-rows.ts): dead letters are built in this one place, the
// high-water marks keep stored rejects and order lines out, and the whole chain of record steps.
import { describe, expect, it } from 'vitest';
import { ChunkRows } from '../transform/chunk-rows.ts';
import { rawEventId, rejectId } from '../transform/dead-letter.ts';
import { FxTable } from '../transform/fx.ts';
import { dlq } from '../transform/pipeline-result.ts';
import { RecentIds } from '../transform/recent-ids.ts';
import { ALREADY_STORED, recordSteps } from '../transform/record-steps.ts';
import type { PreparedRows, RowWriter } from '../transform/row-writer.ts';
import { Sessioniser } from '../transform/sessionise.ts';
import { parseRecord } from '../transform/steps/parse.ts';
import { collected, position, RECEIVED } from './transform.step.fixture.ts';

/** A row writer that keeps what it was given, by table. */
function keepingWriter(): { writer: RowWriter; tables: Map<string, readonly object[]> } {
  const tables = new Map<string, readonly object[]>();
  return {
    tables,
    writer: {
      prepare: (table, rows): PreparedRows | null => {
        if (!rows.length) return null;
        tables.set(table, rows);
        return { table, count: rows.length, send: async () => {}, discard: () => {} };
      },
    },
  };
}

const steps = (storedUpTo = -1) =>
  recordSteps({
    ctx: { fx: FxTable.fromRows([]), baseCurrency: 'USD' },
    dedupe: { seen: new Set(), stored: new RecentIds() },
    sessions: new Sessioniser(),
    storedAt: (at) => at.log_offset <= storedUpTo,
  });

describe('dead letters', () => {
  it('a log record that does not parse keeps its text, the log time and the position', () => {
    const rows = new ChunkRows({ rejects: -1, items: -1 });
    const text = '{"broken":';
    const parsed = parseRecord(text);
    rows.add(parsed.kind === 'ok' ? steps()({ record: parsed.value, at: position(3) }) : parsed, position(3), { text, loggedAt: RECEIVED });
    const { writer, tables } = keepingWriter();
    const chunk = rows.prepare(writer, 'events:0:3-3');
    expect(tables.get('events_rejected')).toEqual([
      {
        reject_id: rejectId('events', 0, 3), log_topic: 'events', log_partition: 0, log_offset: 3, field: 'record', reason: expect.stringMatching(/^malformed log record: /),
        received_at: '2024-03-02 12:00:00.000', source: 'log', site: '', event_id: '', raw: text, user_agent: '',
      },
    ]);
    expect(chunk).toMatchObject({ lastReject: 3, lastEvent: -1, rejectReasons: [expect.stringMatching(/^malformed/)] });
  });

  it('an event a step refused keeps the event as sent, its record origin and the step reason', () => {
    const record = collected({ event_id: 'NOT-A-UUID' }, { source: 'server', user_agent: 'shop-backend/1.0' });
    const rows = new ChunkRows({ rejects: -1, items: -1 });
    rows.add(steps()({ record, at: position(5) }), position(5), { record });
    rows.add(dlq('unknown currency XAF: no exchange rate to USD', 'properties.currency'), position(6), { record });
    const { writer, tables } = keepingWriter();
    rows.prepare(writer, 't');
    expect(tables.get('events_rejected')).toEqual([
      expect.objectContaining({ reject_id: rejectId('events', 0, 5), source: 'server', site: 'shop', event_id: 'NOT-A-UUID', field: 'event_id', raw: JSON.stringify(record.event), user_agent: 'shop-backend/1.0', received_at: '2024-03-02 12:00:00.000' }),
      expect.objectContaining({ reject_id: rejectId('events', 0, 6), field: 'properties.currency', reason: 'unknown currency XAF: no exchange rate to USD' }),
    ]);
  });

  it('rejects and order lines at or below the stored marks are not written again', () => {
    const run = steps();
    const rows = new ChunkRows({ rejects: 1, items: 2 });
    const buy = (offset: number) => {
      const record = collected({ type: 'purchase', customer_id: `c${offset}`, properties: { order_id: `o${offset}`, total: 1, currency: 'USD', items: [{ product_id: 'p', quantity: 1, price: 1 }] } });
      rows.add(run({ record, at: position(offset) }), position(offset), { record });
    };
    rows.add(dlq('old', 'x'), position(1), { text: 'x', loggedAt: 0 });
    rows.add(dlq('new', 'x'), position(4), { text: 'x', loggedAt: 0 });
    buy(2);
    buy(3);
    const { writer, tables } = keepingWriter();
    rows.prepare(writer, 't');
    expect(tables.get('events_rejected')?.map((r) => ('reason' in r ? r.reason : ''))).toEqual(['new']);
    expect(tables.get('events')).toHaveLength(2);
    expect(tables.get('order_items')).toEqual([expect.objectContaining({ order_id: 'o3' })]);
  });
});

describe('the record steps', () => {
  it('a duplicate is counted; a record stored before is neither counted nor remembered as seen', () => {
    const run = steps(10);
    const record = collected({});
    const rows = new ChunkRows({ rejects: -1, items: -1 });
    expect(run({ record, at: position(10) })).toEqual({ kind: 'drop', reason: ALREADY_STORED });
    for (const offset of [11, 12]) rows.add(run({ record, at: position(offset) }), position(offset), { record });
    const { writer, tables } = keepingWriter();
    const chunk = rows.prepare(writer, 'events:0:10-12');
    expect(chunk).toMatchObject({ duplicates: 1, lastEvent: 11, eventIds: [rawEventId(record.event)] });
    expect([...tables.keys()]).toEqual(['events']);
  });

  it('tables are written in order, events last (its mark says a record is fully stored)', () => {
    const run = steps();
    const rows = new ChunkRows({ rejects: -1, items: -1 });
    const records = [
      collected({ type: 'identify', customer_id: 'c1', traits: { country: 'FR' } }),
      collected({ type: 'purchase', customer_id: 'c1', properties: { order_id: 'o1', total: 1, currency: 'USD', items: [{ product_id: 'p', quantity: 1, price: 1 }] } }),
      collected({ anonymous_id: undefined }),
    ];
    records.forEach((record, i) => rows.add(run({ record, at: position(i) }), position(i), { record }));
    const chunk = rows.prepare(keepingWriter().writer, 'events:0:0-2');
    expect(chunk.writes.map((w) => w.table)).toEqual(['events_rejected', 'order_items', 'identities', 'customers', 'events']);
    expect(chunk).toMatchObject({ token: 'events:0:0-2', lastEvent: 1, lastItem: 1, lastReject: 2 });
  });
});
