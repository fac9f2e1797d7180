// The dedupe step: an event id seen earlier in the batch, or stored recently, is dropped as a duplicate.
import { describe, expect, it } from 'vitest';
import { RecentIds } from '../transform/recent-ids.ts';
import { dedupeStep, DUPLICATE } from '../transform/steps/dedupe.ts';
import { standardEvent } from './transform.step.fixture.ts';

describe('dedupe step', () => {
  it('passes an id once per batch, and never one already stored', () => {
    const stored = new RecentIds();
    const first = standardEvent({});
    stored.remember(standardEvent({ event_id: '11111111-1111-4111-8111-111111111111' }).row.event_id);
    const seen = new Set<string>();
    const step = dedupeStep({ seen, stored });
    expect(step(first)).toEqual({ kind: 'ok', value: first });
    expect(step(first)).toEqual({ kind: 'drop', reason: DUPLICATE });
    expect(step(standardEvent({ event_id: '11111111-1111-4111-8111-111111111111' }))).toEqual({ kind: 'drop', reason: DUPLICATE });
    expect([...seen]).toEqual([first.row.event_id]);
  });

  it('compares ids in lower case, as they are stored', () => {
    const step = dedupeStep({ seen: new Set(), stored: new RecentIds() });
    expect(step(standardEvent({ event_id: 'AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA' })).kind).toBe('ok');
    expect(step(standardEvent({ event_id: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' })).kind).toBe('drop');
  });
});

describe('recent ids', () => {
  it('keep at most their cap, dropping the oldest half when full', () => {
    const ids = new RecentIds(4);
    for (const id of ['a', 'b', 'c', 'd', 'e']) ids.remember(id);
    expect(['a', 'b', 'c', 'd', 'e'].map((id) => ids.has(id))).toEqual([false, false, true, true, true]);
  });
});
