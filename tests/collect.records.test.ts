// The collector's record building on its own (ingest/collector/records.ts): what a request's events
// become in the event log, without a server.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { toRecords, type Envelope } from '../ingest/collector/records.ts';
import { IdentitySecrets } from '../ingest/identity.ts';
import type { CollectedRecord } from '../ingest/contract.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const identity = new IdentitySecrets('test master secret');
const envelope: Envelope = { site: 'shop-a', receivedAt: NOW, source: 'browser', userAgent: 'UA/1', batchSentAt: undefined };
const ts = new Date(NOW - 60_000).toISOString();
const stored = (value: string): CollectedRecord => JSON.parse(value);

describe('collector records', () => {
  it('keeps every event in order, accepted or rejected, with the envelope and the reject reason', () => {
    const ok = { event_id: crypto.randomUUID(), type: 'page_view', ts, anonymous_id: 'anon-1', context: { url: 'https://shop.example/' } };
    const bad = { event_id: 'x'.repeat(100), type: 'page_view', ts, anonymous_id: 'anon-2', context: { url: 'https://shop.example/' } }; // not a UUID
    const { records, rejected } = toRecords([ok, bad], envelope, identity);

    expect(records.map((r) => r.key)).toEqual(['anon-1', 'unknown']);
    const first = stored(records[0]!.value);
    expect(first).toMatchObject({ v: 1, site: 'shop-a', received_at: NOW, source: 'browser', user_agent: 'UA/1', event: ok });
    expect(first.reject).toBeUndefined();
    expect(rejected).toHaveLength(1);
    const { index, event_id, ...problem } = rejected[0]!;
    expect({ index, event_id }).toEqual({ index: 1, event_id: 'x'.repeat(64) });
    expect(problem.field).toBe('event_id');
    expect(stored(records[1]!.value).reject).toEqual(problem);
  });

  it("gives the batch's sent_at to events without their own", () => {
    const sentAt = new Date(NOW - 30_000).toISOString();
    const own = new Date(NOW - 45_000).toISOString();
    const events = [
      { event_id: crypto.randomUUID(), type: 'page_view', ts, anonymous_id: 'a', context: { url: 'https://shop.example/' } },
      { event_id: crypto.randomUUID(), type: 'page_view', ts, anonymous_id: 'b', sent_at: own, context: { url: 'https://shop.example/' } },
    ];
    const { records } = toRecords(events, { ...envelope, batchSentAt: sentAt }, identity);
    expect(records.map((r) => (stored(r.value).event as { sent_at?: string }).sent_at)).toEqual([sentAt, own]);
  });

  it('checks an identify signature, then drops it from the stored event', () => {
    const identify = (signature: string) => ({ event_id: crypto.randomUUID(), type: 'identify', ts, customer_id: 'c-42', anonymous_id: 'anon-3', identity_signature: signature });
    const good = identity.sign('shop-a', 'c-42');
    const forged = identity.sign('shop-b', 'c-42'); // another site's secret
    const { records } = toRecords([identify(good), identify(forged)], envelope, identity);

    const [signed, unsigned] = records.map((r) => stored(r.value));
    expect(signed!.identity).toBe('verified');
    expect(unsigned!.identity).toBe('unverified');
    for (const r of [signed!, unsigned!]) expect(r.event).not.toHaveProperty('identity_signature');
    expect(records.map((r) => r.key)).toEqual(['c-42', 'c-42']);
  });
});
