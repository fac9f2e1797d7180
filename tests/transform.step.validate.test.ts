// The validate step: the event against its contract, the collector's own verdict kept, and the event time.
import { describe, expect, it } from 'vitest';
import type { CollectedRecord } from '../ingest/contract.ts';
import { validate } from '../transform/steps/validate.ts';

const RECEIVED = Date.parse('2024-03-02T12:00:00.000Z');
const at = { log_topic: 't', log_partition: 0, log_offset: 7 };
const ID = '3b241101-e2bb-4255-8caf-4136c566a962';
const rec = (event: Record<string, unknown>, extra: Partial<CollectedRecord> = {}): CollectedRecord => ({
  v: 1, site: 'shop', received_at: RECEIVED, source: 'browser', event: { event_id: ID, type: 'page_view', ts: '2024-03-02T11:59:00.000Z', anonymous_id: 'a1', ...event }, ...extra,
});

describe('validate step', () => {
  it('passes a valid event on with its record, position and time', () => {
    const record = rec({});
    const r = validate({ record, at });
    expect(r).toMatchObject({ kind: 'ok', value: { record, at, event: { event_id: ID, type: 'page_view' }, tsMs: Date.parse('2024-03-02T11:59:00.000Z') } });
  });

  it('dead-letters a contract violation with its field and reason', () => {
    expect(validate({ record: rec({ anonymous_id: undefined }), at })).toEqual({ kind: 'dlq', field: 'anonymous_id', reason: 'anonymous_id or customer_id is required' });
    expect(validate({ record: rec({ event_id: 'nope' }), at })).toMatchObject({ kind: 'dlq', field: 'event_id' });
  });

  it('keeps a collector reject as the collector put it', () => {
    expect(validate({ record: rec({}, { reject: { field: 'ts', reason: 'is more than a day in the future' } }), at })).toEqual({ kind: 'dlq', field: 'ts', reason: 'is more than a day in the future' });
  });

  it('corrects client clock skew, and never dates an event after it was received', () => {
    // The client's clock ran 10 minutes fast: sent_at says 12:10 when the server got it at 12:00.
    const skewed = validate({ record: rec({ ts: '2024-03-02T12:05:00.000Z', sent_at: '2024-03-02T12:10:00.000Z' }), at });
    expect(skewed.kind === 'ok' && new Date(skewed.value.tsMs).toISOString()).toBe('2024-03-02T11:55:00.000Z');
    const future = validate({ record: rec({ ts: '2024-03-02T12:30:00.000Z' }), at });
    expect(future.kind === 'ok' && future.value.tsMs).toBe(RECEIVED);
  });
});
