// The storefront's customer view is answered from memory (scores and lists loaded by the services), also in
// an API app built on a runtime that runs no API role itself (the benchmark and split deployments do this):
// not one ClickHouse query per request.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../api/app.ts';
import { waitForDrain } from '../bin/runtime.ts';
import { aliceEvents, ALICE, post } from './api.fixture.ts';
import { testRuntime, ADMIN } from './helpers/runtime.ts';
import type { FastifyInstance } from 'fastify';

let rt: Awaited<ReturnType<typeof testRuntime>>;
let app: FastifyInstance;

beforeAll(async () => {
  rt = await testRuntime({}, { collector: true, transformer: true, scheduler: false, api: false });
  await post(rt, aliceEvents());
  expect(await waitForDrain(rt, 60_000)).toBe(true);
  for (const r of await rt.models.run('rfm')) expect(r.status).toBe('ok');
  app = await buildApp(rt.deps, { api: true, collector: false });
  await app.ready();
}, 120_000);

afterAll(async () => {
  await app?.close();
  await rt?.close();
});

describe('storefront customer view', () => {
  it('comes from memory: scores present, no ClickHouse query per request', async () => {
    const storefront = (await rt.deps.services.keys.create({ role: 'storefront', name: 'memory test' })).secret;
    const rows = vi.spyOn(rt.deps.ch, 'rows');
    for (let i = 0; i < 5; i++) {
      const res = await app.inject({ url: `/v1/customers/${ALICE.id}`, headers: { authorization: `Bearer ${storefront}` } });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().rfm).toMatchObject({ segment: expect.any(String) });
    }
    expect(rows).not.toHaveBeenCalled();
    // An analyst's view reads the profile and history from ClickHouse: the spy sees that, so it can fail.
    await app.inject({ url: `/v1/customers/${ALICE.id}`, headers: { authorization: `Bearer ${ADMIN}` } });
    expect(rows).toHaveBeenCalled();
  });
});
