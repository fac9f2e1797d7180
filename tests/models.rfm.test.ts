// RFM against a hand-computed fixture. Six customers, reference time 2024-06-30T00:00Z, n = 6:
//   customer  recency  freq  monetary | r f m | fm = (f+m+1) div 2 | segment
//   A         1 d      3     200      | 5 5 4 | 5                  | Champions
//   B         5 d      1     30       | 5 1 3 | 2                  | Potential Loyalist
//   C         40 d     2     800      | 4 4 5 | 5                  | Loyal
//   D         100 d    1     20       | 3 1 2 | 2                  | About to Sleep
//   E         200 d    4     400      | 2 5 5 | 5                  | Cannot Lose Them
//   F         300 d    1     10 - 5   | 1 1 1 | 1                  | Lost
// Scores: 1 + min(4, floor(5 (rank - 1) / (n - 1))) with rank() so ties share a score (B, D, F all
// have frequency 1 → rank 1 → f = 1). F's refund makes its monetary 5.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { event, purchase } from './helpers/events.ts';
import { ADMIN, WRITE, testRuntime } from './helpers/runtime.ts';
import { waitForDrain, type Runtime } from '../bin/runtime.ts';

const NOW = Date.parse('2024-06-30T00:00:00Z');
const ago = (d: number) => new Date(NOW - d * 86_400_000);

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime();
  const batch = [
    purchase('A', ago(1), 100), purchase('A', ago(10), 50), purchase('A', ago(20), 50),
    purchase('B', ago(5), 30),
    purchase('C', ago(40), 500), purchase('C', ago(60), 300),
    purchase('D', ago(100), 20),
    purchase('E', ago(200), 100), purchase('E', ago(210), 100), purchase('E', ago(220), 100), purchase('E', ago(230), 100),
    purchase('F', ago(300), 10, { orderId: 'of' }),
    event('refund', { customer_id: 'F' }, { order_id: 'of', amount: 5, currency: 'USD' }, ago(299)),
    // Outside the 365-day window: must not count for A.
    purchase('A', ago(400), 1000),
    // After the reference time: must not count either.
    purchase('B', new Date(NOW + 86_400_000), 999),
  ];
  const res = await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE }, payload: { batch } });
  expect(res.statusCode).toBe(200);
  expect(await waitForDrain(rt, 30_000)).toBe(true);
  const [run] = await rt.models.run('rfm', new Date(NOW));
  expect(run!.status).toBe('ok');
});
afterAll(async () => {
  await rt?.close();
});

const expected: Record<string, { recency: number; frequency: number; monetary: number; r: number; f: number; m: number; segment: string }> = {
  A: { recency: 1, frequency: 3, monetary: 200, r: 5, f: 5, m: 4, segment: 'Champions' },
  B: { recency: 5, frequency: 1, monetary: 30, r: 5, f: 1, m: 3, segment: 'Potential Loyalist' },
  C: { recency: 40, frequency: 2, monetary: 800, r: 4, f: 4, m: 5, segment: 'Loyal' },
  D: { recency: 100, frequency: 1, monetary: 20, r: 3, f: 1, m: 2, segment: 'About to Sleep' },
  E: { recency: 200, frequency: 4, monetary: 400, r: 2, f: 5, m: 5, segment: 'Cannot Lose Them' },
  F: { recency: 300, frequency: 1, monetary: 5, r: 1, f: 1, m: 1, segment: 'Lost' },
};

describe('RFM job', () => {
  for (const [id, want] of Object.entries(expected)) {
    it(`scores customer ${id} as computed by hand`, async () => {
      const res = await rt.app!.inject({ method: 'GET', url: `/v1/customers/${id}`, headers: { authorization: `Bearer ${ADMIN}` } });
      expect(res.statusCode).toBe(200);
      const rfm = res.json().rfm;
      expect(rfm.recency_days).toBeCloseTo(want.recency, 6);
      expect(rfm.frequency).toBe(want.frequency);
      expect(rfm.monetary).toBeCloseTo(want.monetary, 6);
      expect([rfm.r, rfm.f, rfm.m]).toEqual([want.r, want.f, want.m]);
      expect(rfm.segment).toBe(want.segment);
    });
  }

  it('records segment sizes and revenue share in the run', async () => {
    const res = await rt.app!.inject({ method: 'GET', url: '/v1/models/runs?model=rfm', headers: { authorization: `Bearer ${ADMIN}` } });
    const run = res.json().runs[0];
    expect(run.rows_written).toBe(6);
    const champions = run.metrics.segments.find((s: { segment: string }) => s.segment === 'Champions');
    expect(champions.customers).toBe(1);
    expect(champions.revenue_share).toBeCloseTo(200 / 1455, 4);
  });
});
