// Keys and PII never reach the log: the whole process logs at trace level into a captured stream while
// it ingests an identify with email, name and phone, serves them decrypted, creates and uses keys, runs
// analyst queries naming the email, and fails a webhook whose URL carries a token.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, waitForDrain, type Runtime } from '../bin/runtime.ts';
import { testConfig } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';
import { ADMIN, FIXTURE_NOW, WRITE, fixtureClock, tempDir } from './helpers/runtime.ts';
import { daysAgo, purchase, signedBatch } from './helpers/events.ts';
import { identitySecrets } from '../ingest/identity.ts';
import { identify } from './api.fixture.ts';

const EMAIL = 'very.secret.person@private-mail.example';
const NAME = 'Zebulon Quixotic';
const PHONE = '+44 7700 900987';
const TOKEN = 'hook-token-3f9a7c';

let rt: Runtime;
let logged = '';

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      logged += String(chunk);
      done();
    },
  });
  const log = initLogging({ level: 'trace', destination: sink });
  const config = testConfig({ CVM_DATA_DIR: tempDir(), CVM_ADMIN_KEY: ADMIN, CVM_DEMO_WRITE_KEY: WRITE, CVM_TRANSFORM_FLUSH_MS: '50', CVM_LOG_LEVEL: 'trace', CVM_WEBHOOK_ALLOW_HOSTS: '127.0.0.1' });
  rt = await startRuntime(config, log, { collector: true, transformer: true, scheduler: false, api: true }, { listen: false, clock: fixtureClock });
});
afterAll(async () => {
  await rt?.close();
});

describe('logs', () => {
  it('never contain keys, PII or webhook tokens', async () => {
    const app = rt.app!;
    const now = FIXTURE_NOW;
    const batch = [
      identify('cust-z', 'anon-z', { email: EMAIL, name: NAME, phone: PHONE, country: 'GB' }, daysAgo(5, now)),
      purchase('cust-z', daysAgo(4, now), 50),
      purchase('cust-z', daysAgo(2, now), 70),
      // Rejected (no currency): the reject path logs too.
      { ...purchase('cust-z', daysAgo(1, now), 10), properties: { order_id: 'x', total: 10, items: [{ product_id: 'p', quantity: 1, price: 10 }] } },
    ];
    expect((await app.inject({ method: 'POST', url: '/v1/identify', headers: { 'x-cvm-key': WRITE }, payload: signedBatch(identitySecrets(rt.deps.config), rt.deps.config.keys.demoSite, [batch[0]])[0] as object })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE }, payload: { batch: batch.slice(1) } })).statusCode).toBe(200);
    expect(await waitForDrain(rt, 30_000)).toBe(true);
    expect((await rt.models.run('rfm'))[0]!.status).toBe('ok');

    const made = await app.inject({ method: 'POST', url: '/v1/admin/keys', headers: { authorization: `Bearer ${ADMIN}` }, payload: { role: 'analyst', name: 'logs' } });
    const analyst = made.json().key as string;
    const writeKey = (await app.inject({ method: 'POST', url: '/v1/admin/keys', headers: { authorization: `Bearer ${ADMIN}` }, payload: { role: 'write', site: 's2' } })).json().key as string;
    const auth = { authorization: `Bearer ${analyst}` };

    const admin360 = await app.inject({ method: 'GET', url: '/v1/customers/cust-z', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(admin360.json().profile.traits.email).toBe(EMAIL);
    expect((await app.inject({ method: 'POST', url: '/v1/query', headers: auth, payload: { sql: `SELECT count() AS n FROM events WHERE props LIKE '%${EMAIL}%'` } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/v1/query', headers: auth, payload: { sql: `SELECT nosuchcolumn FROM events WHERE url = '${EMAIL}'` } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/v1/query', headers: auth, payload: { sql: `SELECT '${NAME}' FROM customers` } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: '/v1/segments', headers: { authorization: `Bearer ${analyst}x` } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': `${writeKey}x` }, payload: { batch: [] } })).statusCode).toBe(401);

    rt.deps.services.segments.webhookOptions = { retryDelaysMs: [10], timeoutMs: 1_000 };
    // Webhooks are an admin's to set; the local (refused by default) address is allow-listed for this test.
    const seg = await app.inject({ method: 'POST', url: '/v1/segments', headers: { authorization: `Bearer ${ADMIN}` }, payload: { name: 'z', rule: `country = 'GB'`, webhook_url: `http://127.0.0.1:9/hook/${TOKEN}?token=${TOKEN}` } });
    expect(seg.statusCode).toBe(201);
    await rt.models.run('rfm');
    await rt.deps.services.segments.idle();
    expect((await app.inject({ method: 'DELETE', url: '/v1/customers/cust-z', headers: { authorization: `Bearer ${ADMIN}` } })).json().complete).toBe(true);

    // The log is not empty: the scenario produced log lines, including the failed webhook.
    expect(logged).toMatch(/model run finished/);
    expect(logged).toMatch(/webhook delivery failed/);
    expect(logged).toMatch(/127\.0\.0\.1:9/);
    for (const secret of [EMAIL, 'private-mail', NAME, 'Zebulon', 'Quixotic', '900987', ADMIN, analyst, writeKey, analyst.slice(11), TOKEN, seg.json().webhook_secret]) {
      expect(logged.includes(secret), `log contains ${secret}`).toBe(false);
    }
  });
});
