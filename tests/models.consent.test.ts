// Customers who withdrew consent are left out of model training and scoring.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identitySecrets } from '../ingest/identity.ts';
import crypto from 'node:crypto';
import { purchase, daysAgo, signedBatch } from './helpers/events.ts';
import { WRITE, testRuntime } from './helpers/runtime.ts';
import { waitForDrain, type Runtime } from '../bin/runtime.ts';

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime();
  const identify = (id: string, consent: boolean) => ({ event_id: crypto.randomUUID(), type: 'identify', ts: daysAgo(30).toISOString(), customer_id: id, anonymous_id: `a-${id}`, traits: { consent } });
  const batch = [
    identify('yes', true), identify('no', false),
    purchase('yes', daysAgo(3), 50), purchase('yes', daysAgo(20), 40),
    purchase('no', daysAgo(2), 500), purchase('no', daysAgo(10), 400),
    purchase('unknown', daysAgo(5), 20),
  ];
  const res = await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE }, payload: { batch: signedBatch(identitySecrets(rt.deps.config), rt.deps.config.keys.demoSite, batch) } });
  expect(res.statusCode).toBe(200);
  expect(await waitForDrain(rt, 30_000)).toBe(true);
});
afterAll(async () => {
  await rt?.close();
});

describe('consent', () => {
  it('RFM scores consenting and unasked customers, not the one who said no', async () => {
    const [run] = await rt.models.run('rfm');
    const ids = (await rt.deps.ch.rows<{ customer_id: string }>('SELECT customer_id FROM rfm_scores WHERE run_id = {r:String} ORDER BY customer_id', { r: run!.runId })).map((r) => r.customer_id);
    expect(ids).toEqual(['unknown', 'yes']);
  });
});
