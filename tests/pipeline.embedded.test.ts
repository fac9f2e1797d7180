// The foundation path on the real engines: collector → embedded log → transformer → ClickHouse → RFM → API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purchase, daysAgo } from './helpers/events.ts';
import { ADMIN, WRITE, testRuntime, FIXTURE_NOW } from './helpers/runtime.ts';
import { waitForDrain, type Runtime } from '../bin/runtime.ts';

let rt: Runtime;

beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt?.close();
});

describe('embedded pipeline', () => {
  it('posts events, stores them once, scores RFM and serves it from the API', async () => {
    const now = FIXTURE_NOW;
    const batch = [
      purchase('alice', daysAgo(2, now), 120),
      purchase('alice', daysAgo(20, now), 80),
      purchase('alice', daysAgo(40, now), 100),
      purchase('bob', daysAgo(200, now), 15),
      purchase('carol', daysAgo(10, now), 60, { currency: 'EUR' }),
    ];
    const res = await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE }, payload: { batch } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ accepted: 5, rejected: [] });
    // The same batch again (a client retry) must not double-count.
    const again = await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE }, payload: { batch } });
    expect(again.statusCode).toBe(200);

    expect(await waitForDrain(rt, 30_000)).toBe(true);
    const [counts] = await rt.deps.ch.rows<{ n: string; u: string; revenue: number }>(
      'SELECT count() AS n, uniqExact(event_id) AS u, sum(amount_base) AS revenue FROM events FINAL',
    );
    expect(Number(counts!.n)).toBe(5);
    expect(Number(counts!.u)).toBe(5);
    // EUR converted with the bundled rate (1 EUR = 1.085 USD).
    expect(counts!.revenue).toBeCloseTo(120 + 80 + 100 + 15 + 60 * 1.085, 6);

    const runs = await rt.models.run('rfm');
    expect(runs[0]!.status).toBe('ok');
    expect(runs[0]!.rowsWritten).toBe(3);

    const unauth = await rt.app!.inject({ method: 'GET', url: '/v1/customers/alice' });
    expect(unauth.statusCode).toBe(401);
    const alice = await rt.app!.inject({ method: 'GET', url: '/v1/customers/alice', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(alice.statusCode).toBe(200);
    const body = alice.json();
    expect(body.rfm.frequency).toBe(3);
    expect(body.rfm.monetary).toBeCloseTo(300, 6);
    expect(body.rfm.r).toBe(5);
    expect(body.rfm.segment).toBe('Champions');
    const bob = (await rt.app!.inject({ method: 'GET', url: '/v1/customers/bob', headers: { authorization: `Bearer ${ADMIN}` } })).json();
    expect(bob.rfm.r).toBe(1);
    expect(bob.rfm.segment).toBe('Lost');
    const none = await rt.app!.inject({ method: 'GET', url: '/v1/customers/nobody', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(none.statusCode).toBe(404);
  });

  it('runs a model on demand through the admin API', async () => {
    const res = await rt.app!.inject({ method: 'POST', url: '/v1/models/rfm/run', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.statusCode).toBe(200);
    expect(res.json().runs[0].model).toBe('rfm');
    const unknown = await rt.app!.inject({ method: 'POST', url: '/v1/models/nope/run', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(unknown.statusCode).toBe(404);
    const badDay = await rt.app!.inject({ method: 'POST', url: '/v1/models/rfm/run?as_of=2026-02-31', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(badDay.statusCode).toBe(400);
    expect(badDay.json()).toMatchObject({ field: 'querystring.as_of', message: expect.stringMatching(/not a day of the calendar/) });
  });
});
