// CvmClient against the real collector (buildApp + embedded log). Failures come from a real Fastify
// "front" on loopback that answers a scripted status first and then proxies to the collector.
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CvmClient, CvmDeliveryError, CvmEventError, parseRetryAfter, stableEventId, type CvmClientOptions } from '../ingest/server-client.ts';
import { createLogger } from '../lib/logger.ts';
import { countByType, startCollector, type CollectorServer } from './helpers/collector-server.ts';

const KEY = 'wk_demo_shop';
let collector: CollectorServer;

beforeAll(async () => {
  collector = await startCollector();
});
afterAll(async () => {
  await collector?.close();
});

interface Attempt {
  at: number;
  status: number;
  eventIds: string[];
  sentAt: string[];
}

/** Answers the scripted statuses in order, then forwards to the collector. */
async function startFront(plan: Array<{ status: number; retryAfter?: string }>, port = 0): Promise<{ app: FastifyInstance; url: string; attempts: Attempt[] }> {
  const attempts: Attempt[] = [];
  const app = Fastify();
  app.post('/v1/batch', async (req, reply) => {
    const body = req.body as { batch: Array<{ event_id: string; sent_at: string }> };
    const step = plan.shift();
    const status = step?.status ?? 0;
    attempts.push({ at: Date.now(), status, eventIds: body.batch.map((e) => e.event_id), sentAt: body.batch.map((e) => e.sent_at) }); // elapsed time between retries, not a result
    if (step) {
      if (step.retryAfter) reply.header('Retry-After', step.retryAfter);
      return reply.code(step.status).send({ error: 'scripted', message: `scripted ${step.status}` });
    }
    const res = await fetch(collector.url + '/v1/batch', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-cvm-key': String(req.headers['x-cvm-key']) },
      body: JSON.stringify(req.body),
    });
    attempts[attempts.length - 1]!.status = res.status;
    return reply.code(res.status).send(await res.json());
  });
  await app.listen({ host: '127.0.0.1', port });
  return { app, url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`, attempts };
}

function client(host: string, opts: Partial<CvmClientOptions> = {}): { c: CvmClient; errors: CvmDeliveryError[] } {
  const errors: CvmDeliveryError[] = [];
  const c = new CvmClient({ host, key: KEY, retryBaseMs: 50, log: createLogger({ name: 'test-client' }), onError: (e) => errors.push(e), ...opts });
  return { c, errors };
}

const inLog = (ids: string[]) => collector.records.filter((r) => ids.includes(r.event.event_id));

describe('CvmClient', () => {
  it('batches by size and by time', async () => {
    const { c, errors } = client(collector.url, { flushAt: 3, flushIntervalMs: 60_000 });
    const before = collector.batchRequests;
    const ids = Array.from({ length: 7 }, (_, i) => c.track({ type: 'search', customer_id: 'cust-b', properties: { query: `q${i}` } }));
    await collector.waitFor(() => inLog(ids).length === 6, 'two full batches of 3');
    expect(collector.batchRequests - before).toBe(2);
    expect(c.stats().queued).toBe(1); // waits for the interval or flush()
    await c.flush();
    await collector.waitFor(() => inLog(ids).length === 7, 'the last event');
    expect(collector.batchRequests - before).toBe(3);
    await c.close();

    const timed = client(collector.url, { flushAt: 100, flushIntervalMs: 150 });
    const t0 = Date.now();
    const two = [timed.c.track({ type: 'search', customer_id: 'cust-t', properties: { query: 'a' } }), timed.c.track({ type: 'search', customer_id: 'cust-t', properties: { query: 'b' } })];
    await collector.waitFor(() => inLog(two).length === 2, 'events sent by the interval');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(collector.batchRequests - before).toBe(4); // one request for both
    await timed.c.close();

    const rs = inLog([...ids, ...two]);
    expect(new Set(rs.map((r) => r.event.event_id)).size).toBe(9);
    for (const r of rs) {
      expect(r.reject).toBeUndefined();
      expect(r.source).toBe('server');
      expect(r.event.context?.library).toEqual({ name: 'cvm-node', version: '0.1.0' });
      expect(Date.parse(r.event.sent_at as string)).toBeGreaterThanOrEqual(Date.parse(r.event.ts as string));
    }
    expect(errors).toEqual([]);
    expect(c.stats()).toMatchObject({ sent: 7, failed: 0, rejected: 0, retries: 0, requests: 3 });
  });

  it('sends identify, purchase and refund in the contract shape, with order-derived ids', async () => {
    const { c, errors } = client(collector.url);
    const orderTime = new Date('2025-03-01T10:00:00Z');
    const idIdentify = c.identify('cust-p', { email: 'p@example.com', name: 'Pat' });
    const idPurchase = c.purchase({
      customer_id: 'cust-p',
      order_id: 'ord-1001',
      ts: orderTime,
      items: [{ product_id: 'sku-1', quantity: 2, price: 10, category: 'shoes' }],
      total: 20,
      currency: 'eur',
    });
    const idRefund = c.refund({ customer_id: 'cust-p', order_id: 'ord-1001', refund_id: 'rf-1', amount: 10, currency: 'EUR' });
    expect(idPurchase).toBe(stableEventId('purchase', 'ord-1001'));
    expect(c.purchase({ customer_id: 'cust-p', order_id: 'ord-1001', ts: orderTime, items: [{ product_id: 'sku-1', quantity: 2, price: 10 }], total: 20, currency: 'EUR' })).toBe(idPurchase);
    expect(idRefund).toBe(stableEventId('refund', 'ord-1001', 'rf-1'));
    await c.close();

    const rs = await collector.waitFor(() => inLog([idIdentify, idPurchase, idRefund]).length === 4, 'identify, purchase twice, refund').then(() =>
      inLog([idIdentify, idPurchase, idRefund]),
    );
    expect(countByType(rs)).toEqual({ identify: 1, purchase: 2, refund: 1 }); // the resend carries the same id; the pipeline folds it
    const purchase = rs.find((r) => r.event.type === 'purchase')!.event;
    expect(purchase).toMatchObject({
      customer_id: 'cust-p',
      ts: '2025-03-01T10:00:00.000Z',
      properties: { order_id: 'ord-1001', total: 20, currency: 'EUR', items: [{ product_id: 'sku-1', quantity: 2, price: 10, category: 'shoes' }] },
    });
    expect(rs.find((r) => r.event.type === 'identify')!.event.traits).toEqual({ email: 'p@example.com', name: 'Pat' });
    expect(errors).toEqual([]);
  });

  it('throws at the call site for an event that breaks the contract', () => {
    const { c } = client(collector.url);
    expect(() => c.purchase({ customer_id: 'c', order_id: 'o', items: [], total: 1, currency: 'USD' })).toThrow(CvmEventError);
    expect(() => c.track({ type: 'Bad Type', customer_id: 'c' })).toThrow(/type/);
    expect(() => c.track({ type: 'search', properties: { query: 'x' } })).toThrow(/anonymous_id or customer_id/);
    expect(c.stats().queued).toBe(0);
  });

  it('retries a 503 with backoff; the event reaches the log once with the same id', async () => {
    const front = await startFront([{ status: 503 }, { status: 503 }]);
    const { c, errors } = client(front.url, { retryBaseMs: 100 });
    const id = c.track({ type: 'search', customer_id: 'cust-r', properties: { query: 'retry' } });
    await c.flush();
    await front.app.close();
    expect(front.attempts.map((a) => a.status)).toEqual([503, 503, 200]);
    expect(front.attempts.every((a) => a.eventIds.length === 1 && a.eventIds[0] === id)).toBe(true);
    // Backoff with jitter: attempt n waits between base*2^n/2 and base*2^n.
    expect(front.attempts[1]!.at - front.attempts[0]!.at).toBeGreaterThanOrEqual(45);
    expect(front.attempts[2]!.at - front.attempts[1]!.at).toBeGreaterThanOrEqual(95);
    expect(Date.parse(front.attempts[2]!.sentAt[0]!)).toBeGreaterThan(Date.parse(front.attempts[0]!.sentAt[0]!)); // sent_at is per attempt
    await collector.waitFor(() => inLog([id]).length === 1, 'the retried event');
    expect(c.stats()).toMatchObject({ sent: 1, retries: 2, requests: 3, failed: 0 });
    expect(errors).toEqual([]);
  });

  it('honours Retry-After on 429 and 503', async () => {
    const front = await startFront([{ status: 429, retryAfter: '1' }, { status: 503, retryAfter: new Date(Date.now() + 2500).toUTCString() }]); // an HTTP date 2.5 s ahead of the wall clock
    const { c } = client(front.url, { retryBaseMs: 10 });
    const id = c.track({ type: 'search', customer_id: 'cust-ra', properties: { query: 'slow' } });
    await c.flush();
    await front.app.close();
    expect(front.attempts.map((a) => a.status)).toEqual([429, 503, 200]);
    const gap1 = front.attempts[1]!.at - front.attempts[0]!.at;
    expect(gap1).toBeGreaterThanOrEqual(990); // not the 10 ms backoff
    expect(gap1).toBeLessThan(1500);
    // An HTTP date has second precision: the wait ends at that second.
    expect(front.attempts[2]!.at - front.attempts[1]!.at).toBeGreaterThanOrEqual(400);
    await collector.waitFor(() => inLog([id]).length === 1, 'the event after Retry-After');
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter('garbage')).toBeNull();
  });

  it('never retries a 4xx other than 429', async () => {
    const wrongKey = client(collector.url, { key: 'wk_not_a_key' });
    const before = collector.batchRequests;
    wrongKey.c.track({ type: 'search', customer_id: 'cust-k', properties: { query: 'x' } });
    await wrongKey.c.flush();
    expect(collector.batchRequests - before).toBe(1);
    expect(wrongKey.errors).toHaveLength(1);
    expect(wrongKey.errors[0]).toMatchObject({ kind: 'refused', status: 401 });
    expect(wrongKey.errors[0]!.message).toContain('invalid_key');
    expect(wrongKey.c.stats()).toMatchObject({ sent: 0, failed: 1, retries: 0, requests: 1 });

    const front = await startFront([{ status: 400 }]);
    const bad = client(front.url);
    bad.c.track({ type: 'search', customer_id: 'cust-k', properties: { query: 'y' } });
    await bad.c.flush();
    await front.app.close();
    expect(front.attempts.map((a) => a.status)).toEqual([400]);
    expect(bad.errors[0]).toMatchObject({ kind: 'refused', status: 400 });
  });

  it('retries network errors until the collector listens again, and gives up after maxRetries', async () => {
    // Take a free port, then close it so the first attempts are refused.
    const probe = await startFront([]);
    const port = (probe.app.server.address() as { port: number }).port;
    await probe.app.close();
    const { c, errors } = client(`http://127.0.0.1:${port}`, { retryBaseMs: 100 });
    const id = c.track({ type: 'search', customer_id: 'cust-n', properties: { query: 'offline' } });
    const flushed = c.flush();
    await new Promise((r) => setTimeout(r, 400));
    const front = await startFront([], port);
    await flushed;
    await front.app.close();
    expect(c.stats().retries).toBeGreaterThanOrEqual(2);
    expect(front.attempts).toHaveLength(1);
    await collector.waitFor(() => inLog([id]).length === 1, 'the event after the outage');
    expect(errors).toEqual([]);

    const down = await startFront([{ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }]);
    const giveUp = client(down.url, { maxRetries: 2, retryBaseMs: 10 });
    giveUp.c.track({ type: 'search', customer_id: 'cust-g', properties: { query: 'z' } });
    await giveUp.c.flush();
    await down.app.close();
    expect(down.attempts).toHaveLength(3);
    expect(giveUp.errors[0]).toMatchObject({ kind: 'undeliverable', status: 503 });
    expect(giveUp.errors[0]!.events).toHaveLength(1);
  });
});
