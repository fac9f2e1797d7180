// The sessionise step: the server session for events without one; back-office events never open one.
import { describe, expect, it } from 'vitest';
import { serverSessionId, Sessioniser } from '../transform/sessionise.ts';
import { sessioniseStep } from '../transform/steps/sessionise.ts';
import { standardEvent } from './transform.step.fixture.ts';

const T0 = Date.parse('2024-03-01T10:00:00.000Z');

describe('sessionise step', () => {
  it('opens a server session for a visit, and keeps a client session id', () => {
    const step = sessioniseStep(new Sessioniser());
    const view = step(standardEvent({ anonymous_id: 'v1' }));
    expect(view.kind === 'ok' && view.value.row.session_id).toBe(serverSessionId('shop', 'v1', T0));
    const client = step(standardEvent({ anonymous_id: 'v2', session_id: 'client-s1' }));
    expect(client.kind === 'ok' && client.value.row.session_id).toBe('client-s1');
  });

  it('refunds, identifies and imported events join an open session but never open one', () => {
    const sessions = new Sessioniser();
    const step = sessioniseStep(sessions);
    const refund = step(standardEvent({ type: 'refund', customer_id: 'c9', anonymous_id: undefined, properties: { order_id: 'o1', amount: 5, currency: 'USD' } }));
    expect(refund.kind === 'ok' && refund.value.row.session_id).toBe('');
    const imported = step(standardEvent({ anonymous_id: 'v3' }, { source: 'import' }));
    expect(imported.kind === 'ok' && imported.value.row.session_id).toBe('');
    const open = step(standardEvent({ anonymous_id: 'v4' }));
    const identify = step(standardEvent({ type: 'identify', anonymous_id: 'v4', customer_id: 'c4' }));
    expect(identify.kind === 'ok' && identify.value.row.session_id).toBe(open.kind === 'ok' && open.value.row.session_id);
  });
});
