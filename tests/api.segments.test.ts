// Segments on a real pipeline: saved rules give the same members as filtering the customer list by hand,
// injection attempts are refused before anything runs, sizes are recorded after each model run, and a
// real local webhook receiver gets the signed members (with a retry after a failure).
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../lib/crypto.ts';
import { waitForDrain } from '../bin/runtime.ts';
import { ALICE, identify, post, seededShop, type Shop } from './api.fixture.ts';

let shop: Shop;
let receiver: FastifyInstance;
let receiverUrl: string;
const received: Array<{ raw: string; signature: string | undefined; path: string }> = [];
let failuresLeft = 0;

type Customer = { customer_id: string; country: string | null; clv: number | null; churn_risk: number | null; monetary: number | null; r: number | null; consent: number };

async function allCustomers(): Promise<Customer[]> {
  const res = await shop.as('analyst', { method: 'GET', url: '/v1/customers?limit=100000' });
  expect(res.statusCode).toBe(200);
  return res.json().customers;
}

async function allMembers(id: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const res = await shop.as('analyst', { method: 'GET', url: `/v1/segments/${encodeURIComponent(id)}/customers?limit=5${cursor ? `&cursor=${cursor}` : ''}` });
    expect(res.statusCode, res.body).toBe(200);
    ids.push(...res.json().customers.map((c: Customer) => c.customer_id));
    cursor = res.json().next_cursor;
  } while (cursor);
  return ids;
}

beforeAll(async () => {
  // The test's receiver listens on loopback: allow-listed, as an operator would for an internal receiver.
  shop = await seededShop({ env: { CVM_WEBHOOK_ALLOW_HOSTS: '127.0.0.1' } });
  // Carol opted out of marketing: she may be in a segment, but never pushed to a webhook.
  await post(shop.rt, [identify('cust-carol', 'anon-carol', { email: 'carol@example.com', country: 'DE', consent: false })]);
  await waitForDrain(shop.rt, 30_000);
  shop.rt.deps.services.segments.webhookOptions = { retryDelaysMs: [50, 50], timeoutMs: 5_000 };

  receiver = Fastify();
  receiver.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  receiver.post('/hook/:name', async (req, reply) => {
    received.push({ raw: req.body as string, signature: req.headers['x-cvm-signature'] as string | undefined, path: req.url });
    if (failuresLeft > 0) {
      failuresLeft--;
      return reply.code(503).send({ error: 'try later' });
    }
    return { ok: true };
  });
  await receiver.listen({ port: 0, host: '127.0.0.1' });
  const addr = receiver.server.address();
  receiverUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(async () => {
  await receiver?.close();
  await shop?.rt.close();
});

describe('segments', () => {
  it('lists the built-in RFM segments and their members', async () => {
    const res = await shop.as('analyst', { method: 'GET', url: '/v1/segments' });
    expect(res.statusCode).toBe(200);
    const builtins = res.json().segments.filter((s: { kind: string }) => s.kind === 'rfm');
    expect(builtins.map((s: { id: string }) => s.id)).toContain('rfm:Champions');
    const alice = (await shop.as('analyst', { method: 'GET', url: `/v1/customers/${ALICE.id}` })).json();
    const members = await allMembers(`rfm:${alice.rfm.segment}`);
    expect(members).toContain(ALICE.id);
    const expected = (await allCustomers()).filter((c) => (c as unknown as { segment: string }).segment === alice.rfm.segment).map((c) => c.customer_id);
    expect(members.sort()).toEqual(expected.sort());
  });

  it('saves a rule segment whose members match filtering the customer list by hand', async () => {
    const rule = `(monetary > 50 OR r >= 4) AND country IN ('DE', 'FR', 'GB') AND NOT customer_id = 'C00001'`;
    const res = await shop.as('analyst', { method: 'POST', url: '/v1/segments', payload: { name: 'Good EU', rule } });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().segment.id;
    expect(res.json().webhook_secret).toBeUndefined();
    const expected = (await allCustomers())
      .filter((c) => ((c.monetary ?? -Infinity) > 50 || (c.r ?? -Infinity) >= 4) && ['DE', 'FR', 'GB'].includes(c.country ?? '') && c.customer_id !== 'C00001')
      .map((c) => c.customer_id);
    expect(expected.length).toBeGreaterThan(1);
    expect((await allMembers(id)).sort()).toEqual(expected.sort());
    const csv = await shop.as('analyst', { method: 'GET', url: `/v1/segments/${id}/customers?format=csv` });
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.body.trim().split('\r\n')).toHaveLength(expected.length + 1);
    const listed = (await shop.as('analyst', { method: 'GET', url: '/v1/segments' })).json().segments;
    expect(listed.find((s: { id: string }) => s.id === id)).toMatchObject({ kind: 'custom', name: 'Good EU', rule });
  });

  it('refuses injection attempts with a clear 400 and runs nothing', async () => {
    const [before] = await shop.rt.deps.ch.rows<{ n: string }>('SELECT count() AS n FROM events');
    const attempts: Array<[string, number]> = [
      [`country = 'x' OR 1=1 --`, 18],
      ['1; DROP TABLE events', 2],
      [`clv > 0) OR (1 = 1`, 8],
      [`country = 'DE'; DELETE FROM customers WHERE 1`, 15],
      [`country IN (SELECT country FROM customers)`, 13],
      [`clv > sleep(3)`, 7],
      [`customer_id = ''''`, 0], // a quote as data: valid
    ];
    for (const [rule, position] of attempts) {
      const res = await shop.as('analyst', { method: 'POST', url: '/v1/segments', payload: { name: 'x', rule } });
      if (position === 0) {
        expect(res.statusCode).toBe(201);
        continue;
      }
      expect(res.statusCode, rule).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid_rule', field: 'rule', position });
      expect(res.json().message).toMatch(new RegExp(`^rule at position ${position}: `));
    }
    const [after] = await shop.rt.deps.ch.rows<{ n: string }>('SELECT count() AS n FROM events');
    expect(after!.n).toBe(before!.n);
    const [customers] = await shop.rt.deps.ch.rows<{ n: string }>('SELECT count() AS n FROM customers');
    expect(Number(customers!.n)).toBeGreaterThan(0);
  });

  it('records sizes after each model run and pushes signed members to the webhook, retrying after a failure', async () => {
    const rule = `country = 'DE'`;
    const res = await shop.as('admin', { method: 'POST', url: '/v1/segments', payload: { name: 'Germany', rule, webhook_url: `${receiverUrl}/hook/de?token=abc` } });
    expect(res.statusCode, res.body).toBe(201);
    const { segment, webhook_secret } = res.json();
    expect(webhook_secret).toMatch(/^whsec_/);
    // The secret is stored encrypted, not in clear.
    const [stored] = await shop.rt.deps.ch.rows<{ s: string }>('SELECT webhook_secret AS s FROM segments FINAL WHERE segment_id = {id:String}', { id: segment.id });
    expect(stored!.s.startsWith('enc:v1:')).toBe(true);

    failuresLeft = 1;
    received.length = 0;
    const runs = await shop.rt.models.run('rfm');
    expect(runs[0]!.status).toBe('ok');
    await shop.rt.deps.services.segments.idle();

    const members = await allMembers(segment.id);
    expect(members).toContain('cust-carol');
    const sizes = (await shop.as('analyst', { method: 'GET', url: `/v1/segments/${segment.id}/sizes` })).json().sizes;
    expect(sizes.at(-1)).toMatchObject({ run_id: runs[0]!.runId, model: 'rfm', customers: members.length });
    const rfmSizes = (await shop.as('analyst', { method: 'GET', url: '/v1/segments/rfm:Champions/sizes' })).json().sizes;
    expect(rfmSizes.at(-1).run_id).toBe(runs[0]!.runId);

    // First attempt refused (503), the retry delivered: two requests with the same signed body.
    expect(received).toHaveLength(2);
    expect(received[0]!.raw).toBe(received[1]!.raw);
    for (const r of received) {
      expect(r.path).toBe('/hook/de?token=abc');
      expect(verifySignature(webhook_secret, r.raw, r.signature)).toBe(true);
      expect(verifySignature('whsec_wrong', r.raw, r.signature)).toBe(false);
    }
    const body = JSON.parse(received[1]!.raw);
    expect(body).toMatchObject({ segment_id: segment.id, name: 'Germany', model: 'rfm', run_id: runs[0]!.runId });
    const pushed = body.members.map((m: { customer_id: string }) => m.customer_id).sort();
    // Everyone in the segment except the customer who withheld consent.
    expect(pushed).toEqual(members.filter((m) => m !== 'cust-carol').sort());
    expect(body.count).toBe(pushed.length);
    expect(JSON.stringify(body)).not.toContain('@example.com');

    const audit = await shop.rt.deps.ch.rows<{ action: string; detail: string }>(`SELECT action, detail FROM audit_log WHERE target = {id:String} ORDER BY at`, { id: segment.id });
    expect(audit.map((a) => a.action)).toEqual(['segment_create', 'webhook_push']);
    expect(JSON.parse(audit[1]!.detail)).toMatchObject({ attempts: 2, status: 200 });
  });

  it('gives up after the retries when the receiver keeps failing, and says so in the audit log', async () => {
    const res = await shop.as('admin', { method: 'POST', url: '/v1/segments', payload: { name: 'Broken', rule: 'clv >= 0', webhook_url: `${receiverUrl}/hook/broken` } });
    const id = res.json().segment.id;
    // Only the broken one matters here: delete the working one so the receiver's failure counter is unambiguous.
    for (const s of (await shop.as('analyst', { method: 'GET', url: '/v1/segments' })).json().segments) {
      if (s.kind === 'custom' && s.id !== id) expect((await shop.as('admin', { method: 'DELETE', url: `/v1/segments/${s.id}` })).statusCode).toBe(204);
    }
    failuresLeft = 100;
    received.length = 0;
    await shop.rt.models.run('rfm');
    await shop.rt.deps.services.segments.idle();
    expect(received).toHaveLength(3); // 1 + 2 retries
    const [audit] = await shop.rt.deps.ch.rows<{ action: string; detail: string }>(`SELECT action, detail FROM audit_log WHERE target = {id:String} AND action LIKE 'webhook%'`, { id });
    expect(audit!.action).toBe('webhook_failed');
    expect(JSON.parse(audit!.detail)).toMatchObject({ attempts: 3, status: 503 });
    failuresLeft = 0;
  });

  it('answers 404 for unknown segments and refuses deleting built-ins', async () => {
    expect((await shop.as('analyst', { method: 'GET', url: '/v1/segments/seg_nope/customers' })).statusCode).toBe(404);
    expect((await shop.as('analyst', { method: 'GET', url: '/v1/segments/rfm:Nope/customers' })).statusCode).toBe(404);
    expect((await shop.as('analyst', { method: 'DELETE', url: '/v1/segments/rfm:Champions' })).statusCode).toBe(400);
    const bad = await shop.as('admin', { method: 'POST', url: '/v1/segments', payload: { name: 'x', rule: 'clv > 1', webhook_url: 'file:///etc/passwd' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe('webhook_url');
  });
});
