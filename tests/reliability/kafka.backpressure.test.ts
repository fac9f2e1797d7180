// Fault: the Kafka broker stays away longer than the producer's own retries. The first sends fail after
// kafkajs gave up (503 log_unavailable); after two failures in a row the collector stops holding requests
// through the same retries and answers 503 at once, with a Retry-After from its backoff, and says so in
// /v1/pipeline/status. Once the broker is back it accepts again; nothing acknowledged is lost or doubled and
// nothing refused is stored.
import type { FastifyInstance } from 'fastify';
import { expect, it } from 'vitest';
import { waitForDrain } from '../../bin/runtime.ts';
import { ADMIN, WRITE, testRuntime } from '../helpers/runtime.ts';
import { Ledger, audit, sleep, type Post } from './helpers/stream.ts';
import { recordFault } from './helpers/report.ts';
import { mockClusterUnavailable, startMockCluster } from './helpers/mock-cluster.ts';

const unavailable = mockClusterUnavailable();
if (unavailable) console.warn(`Kafka back-pressure test SKIPPED: ${unavailable}. Install kcat (librdkafka) and python3.`);

interface Refusal { message: string; retryAfter: string; ms: number }

function posting(app: FastifyInstance, refusals: Refusal[]): Post {
  return async (body) => {
    const t = Date.now();
    const res = await app.inject({ method: 'POST', url: '/v1/batch', headers: { 'content-type': 'application/json', 'x-cvm-key': WRITE }, payload: body });
    if (res.statusCode === 503) {
      const parsed = JSON.parse(res.body) as { error: string; message: string };
      expect(parsed.error).toBe('log_unavailable');
      refusals.push({ message: parsed.message, retryAfter: String(res.headers['retry-after'] ?? ''), ms: Date.now() - t });
    }
    return { status: res.statusCode, body: res.body };
  };
}

interface Status { lag_error: string | null; log_usage: { refusing: boolean; append_failures: number; last_error: string | null } }

/** The status is most needed while the log is in trouble: it must answer then (and say why the lag is missing). */
async function status(app: FastifyInstance): Promise<Status> {
  const res = await app.inject({ method: 'GET', url: '/v1/pipeline/status', headers: { authorization: `Bearer ${ADMIN}` } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as Status;
}

it.skipIf(unavailable !== null)('a broker away past the producer retries: 503 at once with Retry-After, then accepting again, nothing lost', async () => {
  const t0 = Date.now();
  const mock = await startMockCluster(1);
  await mock.command('topic cvm.events.raw 4');
  const rt = await testRuntime({
    KAFKA_BROKERS: mock.brokers.join(','), KAFKA_IDEMPOTENT: 'false', KAFKA_SESSION_TIMEOUT_MS: '3000',
    CVM_TRANSFORM_FLUSH_MS: '50', CVM_RATE_LIMIT_PER_MINUTE: '10000000',
  });
  try {
    const app = rt.app!;
    const refusals: Refusal[] = [];
    const post = posting(app, refusals);
    const ledger = new Ledger('kbp');
    await ledger.stream(post, { senders: 2, size: 10, until: () => false, maxBatches: 5 });
    expect(ledger.count('200')).toBe(10);

    await mock.command('down 1');
    const downAt = Date.now();
    let stop = false;
    const streaming = ledger.stream(post, { senders: 2, size: 10, until: () => stop, pauseMs: 200 });
    // Until the collector refuses at once (backing off). Whether the status says `refusing` at one instant
    // depends on where its back-off window stands, so the status is checked for the failures it counted.
    while (Date.now() - downAt < 90_000 && !refusals.some((r) => /appends in a row/.test(r.message))) await sleep(250);
    const during = await status(app);
    const usage = during.log_usage;
    const health = await app.inject({ url: '/health' });
    await sleep(1500);
    await mock.command('up 1');
    const upAt = Date.now();
    // Accepting again: new 2xx after the broker came back.
    const okBefore = ledger.count('200');
    while (Date.now() - upAt < 90_000 && ledger.count('200') < okBefore + 4) await sleep(250);
    stop = true;
    await streaming;

    const fast = refusals.filter((r) => /appends in a row/.test(r.message));
    expect(fast.length, `refusals: ${JSON.stringify(refusals.slice(0, 5))}`).toBeGreaterThan(0);
    // Answered at once, not after the producer's retries, and told when to come back.
    expect(Math.min(...fast.map((r) => r.ms))).toBeLessThan(1000);
    for (const r of fast) expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(usage.append_failures).toBeGreaterThanOrEqual(2);
    expect(usage.last_error).toBeTruthy();
    // Not ready while the broker is away, and why; the lag it cannot read is reported, not a 500.
    expect(health.statusCode).toBe(503);
    expect(health.json()).toMatchObject({ status: 'log_unavailable', log_error: expect.any(String), transform_lag: null });
    expect(during.lag_error).toEqual(expect.any(String));
    expect(ledger.count('200')).toBeGreaterThanOrEqual(okBefore + 4);
    expect(await waitForDrain(rt, 90_000)).toBe(true);
    const after = await status(app);
    expect(after.log_usage.refusing).toBe(false);
    expect(after.lag_error).toBeNull();
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200);

    const books = await audit(rt.deps.ch, ledger);
    expect(books).toMatchObject({ lost: 0, duplicated: 0, strays: 0 });
    recordFault(
      8,
      'Kafka broker away past the producer retries: back-off refusals (mock cluster)',
      books,
      `broker down ${((upAt - downAt) / 1000).toFixed(1)} s; 503 log_unavailable ×${refusals.length} (${fast.length} answered at once from the back-off, fastest ${Math.min(...fast.map((r) => r.ms))} ms, Retry-After ${[...new Set(fast.map((r) => r.retryAfter))].join('/')} s); status showed ${usage.append_failures} failed appends, last "${(usage.last_error ?? '').slice(0, 60)}…"; answers: ${ledger.statusSummary()}`,
      t0,
    );
  } finally {
    await rt.close();
    await mock.stop();
  }
}, 300_000);
