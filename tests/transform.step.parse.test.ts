// The parse step: a log record's text → the collector's record, or a dead letter on 'record'.
import { describe, expect, it } from 'vitest';
import { parseRecord } from '../transform/steps/parse.ts';

describe('parse step', () => {
  it('reads a collector record', () => {
    const rec = { v: 1, site: 'shop', received_at: 1_700_000_000_000, source: 'browser', event: { type: 'page_view' } };
    expect(parseRecord(JSON.stringify(rec))).toEqual({ kind: 'ok', value: rec });
  });

  it('dead-letters text that is not JSON, and JSON that is not a collector record', () => {
    expect(parseRecord('{"v":1,')).toMatchObject({ kind: 'dlq', field: 'record', reason: expect.stringMatching(/^malformed log record: /) });
    expect(parseRecord('null')).toEqual({ kind: 'dlq', field: 'record', reason: 'malformed log record: not a collector record' });
    expect(parseRecord('{"site":"shop"}')).toEqual({ kind: 'dlq', field: 'record', reason: 'malformed log record: not a collector record' });
    expect(parseRecord('{"site":1,"received_at":5}')).toMatchObject({ kind: 'dlq', field: 'record' });
  });

  it('makes lone UTF-16 surrogates well formed, so ClickHouse takes the row', () => {
    const r = parseRecord('{"v":1,"site":"shop","received_at":1,"source":"browser","event":{"q":"a\\ud800b"}}');
    expect(r.kind).toBe('ok');
    if (r.kind === 'ok') expect((r.value.event as { q: string }).q).toBe('a\ufffdb');
  });

  it('caps the reason at 500 characters', () => {
    const r = parseRecord('x'.repeat(10_000));
    expect(r.kind === 'dlq' && r.reason.length).toBeLessThanOrEqual(500);
  });
});
