// Server-side sessions and the throughput meter, with concrete inputs. Pure: no engines.
import { describe, expect, it } from 'vitest';
import { Sessioniser, serverSessionId, SESSION_GAP_MS } from '../transform/sessionise.ts';
import { RateMeter } from '../transform/rate-meter.ts';

const T0 = Date.parse('2024-05-01T10:00:00Z');
const MIN = 60_000;
const ev = (tsMs: number, who: { a?: string; c?: string } = { a: 'a1' }, extra: { sessionId?: string; opens?: boolean; site?: string } = {}) => ({
  site: extra.site ?? 'shop', anonymousId: who.a ?? '', customerId: who.c ?? '', sessionId: extra.sessionId ?? '', tsMs, opens: extra.opens ?? true,
});

describe('Sessioniser', () => {
  it('keeps a visitor in one session until 30 minutes of inactivity', () => {
    const s = new Sessioniser();
    const first = s.assign(ev(T0));
    expect(first).toBe(serverSessionId('shop', 'a1', T0));
    expect(first).toMatch(/^srv_[0-9a-f]{24}$/);
    expect(s.assign(ev(T0 + 10 * MIN))).toBe(first);
    expect(s.assign(ev(T0 + 40 * MIN))).toBe(first); // 30 min after the previous event, not the first
    const second = s.assign(ev(T0 + 40 * MIN + SESSION_GAP_MS + 1));
    expect(second).toBe(serverSessionId('shop', 'a1', T0 + 70 * MIN + 1));
    expect(second).not.toBe(first);
  });

  it('gives the same ids when the same events are processed again (deterministic)', () => {
    const run = () => {
      const s = new Sessioniser();
      return [T0, T0 + 5 * MIN, T0 + 50 * MIN, T0 + 51 * MIN].map((t) => s.assign(ev(t)));
    };
    expect(run()).toEqual(run());
    expect(new Set(run()).size).toBe(2);
  });

  it('keeps visitors and sites apart', () => {
    const s = new Sessioniser();
    const a = s.assign(ev(T0, { a: 'a1' }));
    const b = s.assign(ev(T0, { a: 'a2' }));
    const other = s.assign(ev(T0, { a: 'a1' }, { site: 'other' }));
    expect(new Set([a, b, other]).size).toBe(3);
  });

  it('follows a visitor through login: customer-only events join the session the anonymous id is in', () => {
    const s = new Sessioniser();
    const browsing = s.assign(ev(T0, { a: 'a1' }));
    expect(s.assign(ev(T0 + 2 * MIN, { a: 'a1', c: 'c1' }))).toBe(browsing); // identify
    // The shop back end sends the purchase with the customer id only.
    expect(s.assign(ev(T0 + 3 * MIN, { c: 'c1' }, { opens: true }))).toBe(browsing);
  });

  it('keeps a client session id, and server events without one join it', () => {
    const s = new Sessioniser();
    expect(s.assign(ev(T0, { a: 'a1', c: 'c1' }, { sessionId: 'client-s1' }))).toBe('client-s1');
    expect(s.assign(ev(T0 + MIN, { c: 'c1' }))).toBe('client-s1');
  });

  it('back-office events join an open session but never open one', () => {
    const s = new Sessioniser();
    expect(s.assign(ev(T0, { c: 'c1' }, { opens: false }))).toBe('');
    const visit = s.assign(ev(T0 + MIN, { c: 'c1' }));
    expect(s.assign(ev(T0 + 2 * MIN, { c: 'c1' }, { opens: false }))).toBe(visit);
    expect(s.assign(ev(T0 + 10 * 24 * 60 * MIN, { c: 'c1' }, { opens: false }))).toBe(''); // a refund ten days later
  });

  it('a late event from before the open session gets its own session and leaves the open one alone', () => {
    const s = new Sessioniser();
    const now = s.assign(ev(T0 + 120 * MIN));
    const late = s.assign(ev(T0));
    expect(late).toBe(serverSessionId('shop', 'a1', T0));
    expect(s.assign(ev(T0 + 121 * MIN))).toBe(now);
    // Slightly out of order (within the gap) joins.
    expect(s.assign(ev(T0 + 110 * MIN))).toBe(now);
  });

  it('rolls back a failed batch so the retry assigns the same ids', () => {
    const s = new Sessioniser();
    s.assign(ev(T0 - 60 * MIN));
    s.begin();
    const attempt1 = [T0, T0 + MIN].map((t) => s.assign(ev(t)));
    s.rollback();
    s.begin();
    const attempt2 = [T0, T0 + MIN].map((t) => s.assign(ev(t)));
    s.commit();
    expect(attempt2).toEqual(attempt1);
    expect(s.assign(ev(T0 + 2 * MIN))).toBe(attempt1[0]);
  });

  it('is bounded: least recently seen visitors are dropped first', () => {
    const s = new Sessioniser(1000);
    for (let i = 0; i < 5000; i++) s.assign(ev(T0 + i, { a: `v${i}` }));
    expect(s.size).toBeLessThanOrEqual(1000);
    // The newest visitor is still known: its next event continues its session.
    expect(s.assign(ev(T0 + 4999 + MIN, { a: 'v4999' }))).toBe(serverSessionId('shop', 'v4999', T0 + 4999));
    // The oldest was forgotten: a new session would start (a fresh id from its new start).
    expect(s.assign(ev(T0 + MIN, { a: 'v0' }))).toBe(serverSessionId('shop', 'v0', T0 + MIN));
  });
});

describe('RateMeter', () => {
  it('averages over a sliding window of seconds', () => {
    let now = 1_000_000;
    const m = new RateMeter(10, () => now);
    m.add(50);
    now += 1000;
    m.add(50);
    expect(m.perSecond()).toBe(10);
    now += 9000; // the first second has left the window
    expect(m.perSecond()).toBe(5);
    now += 60_000;
    expect(m.perSecond()).toBe(0);
  });
});
