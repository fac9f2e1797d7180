// Bad input gets a clear 4xx naming the field and the reason; the good events of the same batch are kept,
// the bad ones are stored as dead letters with their reason; nothing crashes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { event, purchase } from './helpers/events.ts';
import { FIXTURE_NOW, WRITE, testRuntime } from './helpers/runtime.ts';
import { waitForDrain, type Runtime } from '../bin/runtime.ts';

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt?.close();
});

const post = (payload: unknown, headers: Record<string, string> = { 'x-cvm-key': WRITE, 'content-type': 'application/json' }) =>
  rt.app!.inject({ method: 'POST', url: '/v1/batch', headers, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });

describe('collector bad input', () => {
  it('malformed JSON is a 400 naming the body', async () => {
    const res = await post('{"batch": [');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_json', field: 'body' });
  });

  it('a missing or unknown write key is a 401 naming the key', async () => {
    const missing = await post({ batch: [event('page_view', { anonymous_id: 'a' })] }, { 'content-type': 'application/json' });
    expect(missing.statusCode).toBe(401);
    expect(missing.json().field).toBe('key');
    const unknown = await post({ batch: [event('page_view', { anonymous_id: 'a' })] }, { 'x-cvm-key': 'nope', 'content-type': 'application/json' });
    expect(unknown.statusCode).toBe(401);
  });

  it('batch must be an array', async () => {
    const res = await post({ batch: 'x' });
    expect(res.statusCode).toBe(400);
    expect(res.json().field).toBe('batch');
  });

  it('wrong types and missing fields are rejected per event with field and reason; good events are accepted', async () => {
    const good = purchase('keep-me', new Date(FIXTURE_NOW), 42);
    const res = await post({
      batch: [
        good,
        { ...event('product_view', { anonymous_id: 'a' }, { product_id: 7 }) },
        { ...event('page_view', {}) },
        { type: 'page_view', ts: new Date(FIXTURE_NOW).toISOString(), anonymous_id: 'a' },
        { ...purchase('x', new Date(FIXTURE_NOW), 10), properties: { order_id: 'o', items: [], total: 10, currency: 'USD' } },
        { ...event('review', { customer_id: 'c' }, { product_id: 'p', rating: 9 }) },
        { ...event('page_view', { anonymous_id: 'a' }), ts: '2999-01-01T00:00:00Z' },
        'not an object',
      ],
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.accepted).toBe(1);
    const byIndex = Object.fromEntries(body.rejected.map((r: { index: number; field: string; reason: string }) => [r.index, r]));
    expect(byIndex[1]).toMatchObject({ field: 'properties.product_id' });
    expect(byIndex[2]).toMatchObject({ field: 'anonymous_id', reason: 'anonymous_id or customer_id is required' });
    expect(byIndex[3]).toMatchObject({ field: 'event_id', reason: 'is required' });
    expect(byIndex[4]).toMatchObject({ field: 'properties.items' });
    expect(byIndex[5]).toMatchObject({ field: 'properties.rating' });
    expect(byIndex[6]).toMatchObject({ field: 'ts', reason: 'is more than a day in the future' });
    expect(byIndex[7]).toMatchObject({ field: 'event', reason: 'must be a JSON object' });

    expect(await waitForDrain(rt, 30_000)).toBe(true);
    const stored = await rt.deps.ch.rows<{ customer_id: string }>("SELECT customer_id FROM events WHERE customer_id = 'keep-me'");
    expect(stored).toHaveLength(1);
    const rejects = await rt.deps.ch.rows<{ field: string; reason: string }>('SELECT field, reason FROM events_rejected ORDER BY log_offset');
    expect(rejects.map((r) => r.field)).toEqual(['properties.product_id', 'anonymous_id', 'event_id', 'properties.items', 'properties.rating', 'ts', 'event']);
  });

  it('over 500 events is a 413 naming the batch', async () => {
    const batch = Array.from({ length: 501 }, () => event('page_view', { anonymous_id: 'a' }));
    const res = await post({ batch });
    expect(res.statusCode).toBe(413);
    expect(res.json().field).toBe('batch');
  });

  it('a body over 500 KB is a 413 naming the body', async () => {
    const res = await post({ batch: [event('page_view', { anonymous_id: 'a' }, { blob: 'x'.repeat(600_000) })] });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: 'body_too_large', field: 'body' });
  });

  it('a sendBeacon text/plain body is accepted', async () => {
    const res = await post({ key: WRITE, batch: [event('page_view', { anonymous_id: 'beacon' })] }, { 'content-type': 'text/plain;charset=UTF-8' });
    expect(res.statusCode).toBe(200);
    expect(res.json().accepted).toBe(1);
  });

  it('an unsupported content type is a 415 naming the header', async () => {
    const res = await post('<xml/>', { 'x-cvm-key': WRITE, 'content-type': 'application/xml' });
    expect(res.statusCode).toBe(415);
    expect(res.json().field).toBe('content-type');
  });

  it('the server is still healthy after all of that', async () => {
    const res = await rt.app!.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
  });
});
