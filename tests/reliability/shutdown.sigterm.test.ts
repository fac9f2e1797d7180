// Fault: SIGTERM while events stream in (what systemd, Kubernetes or `docker stop` send). The process must
// drain: /health turns 503 draining, the collector answers 503 draining (with Retry-After) and nothing
// else, a request already in flight is finished and acknowledged, the transformer finishes and commits the
// batch in hand, and the process exits 0 within CVM_SHUTDOWN_TIMEOUT_S. A restart then stores everything
// acknowledged, once. A drain that hangs ends at the timeout with exit 1; a second signal ends it at once.
//
// NOTE: how the drain is made to take a while. A materialized view on `events` that sleeps 2.5 s per insert
// block (as in crash.mid-batch) holds the transformer's batch in hand, so the signal lands mid-batch and
// the collector is seen refusing while the batch finishes. For the timeout and the second signal a request
// whose body never completes holds the HTTP server's close.
import net from 'node:net';
import path from 'node:path';
import { expect, it } from 'vitest';
import { tempDir, ADMIN, WRITE } from '../helpers/runtime.ts';
import { startCvm, waitForHealthyDrain, type CvmProcess } from '../helpers/cvm-process.ts';
import { connectClickHouse } from '../../lib/clickhouse.ts';
import { testConfig } from '../../lib/config.ts';
import { initLogging } from '../../lib/logger.ts';
import { openStore } from '../../bin/runtime.ts';
import { EmbeddedEventLog } from '../../lib/eventlog/embedded.ts';
import { TRANSFORM_GROUP } from '../../transform/events.consumer.ts';
import { Ledger, audit, mixedBatch, sleep, viaFetch, waitFor, type Post } from './helpers/stream.ts';
import { recordFault } from './helpers/report.ts';

const silent = initLogging({ level: 'silent' });
const envFor = (dir: string, extra: Record<string, string> = {}) => ({
  CVM_DATA_DIR: dir, CVM_ADMIN_KEY: ADMIN, CVM_DEMO_WRITE_KEY: WRITE, CVM_TRANSFORM_FLUSH_MS: '100', CVM_RATE_LIMIT_PER_MINUTE: '10000000', ...extra,
});

/** A POST /v1/batch whose body arrives in two parts: the request is in flight until finish() sends the rest. */
async function slowPost(url: string, body: string): Promise<{ finish(): Promise<{ status: number; body: string; headers: string }> }> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let answer = '';
  socket.on('data', (d: Buffer) => (answer += d.toString()));
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  const bytes = Buffer.from(body);
  const half = Math.floor(bytes.length / 2);
  socket.write(`POST /v1/batch HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nX-CVM-Key: ${WRITE}\r\nConnection: close\r\nContent-Length: ${bytes.length}\r\n\r\n`);
  socket.write(bytes.subarray(0, half));
  return {
    async finish() {
      // write, not end: a half-closed request is aborted by Node's server; Connection: close ends the socket.
      socket.write(bytes.subarray(half));
      await ended;
      const [head = '', rest = ''] = answer.split('\r\n\r\n');
      return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0), headers: head, body: rest };
    },
  };
}

/** Polls GET /health until the process is gone; returns what it saw while draining. */
function watchHealth(url: string, gone: () => boolean): Promise<Array<{ status: number; body: { status?: string } }>> {
  return (async () => {
    const seen: Array<{ status: number; body: { status?: string } }> = [];
    while (!gone()) {
      try {
        const res = await fetch(`${url}/health`);
        const body = (await res.json()) as { status?: string };
        if (body.status !== 'ok') seen.push({ status: res.status, body });
      } catch {
        // refused: the listener is closed
      }
      await sleep(25);
    }
    return seen;
  })();
}

it('SIGTERM mid-stream drains: 2xx only for stored events, 503 draining for the rest, the batch in hand committed, exit 0', async () => {
  const t0 = Date.now();
  const dir = tempDir('cvm-rel-sigterm-');
  const config = testConfig({ CVM_DATA_DIR: dir });
  // Batches are cut after 10 ms of filling, so nearly all the time a (2.5 s) batch is in hand.
  const env = envFor(dir, { CVM_TRANSFORM_FLUSH_MS: '10', CVM_LOG_LEVEL: 'info' });

  let ch = await openStore(config, silent);
  await ch.exec('CREATE TABLE fault_probe (n UInt64) ENGINE = MergeTree ORDER BY n');
  await ch.exec('CREATE MATERIALIZED VIEW fault_slow_events_insert TO fault_probe AS SELECT count() AS n FROM events WHERE sleep(2.5) = 0');
  await ch.close();

  const ledger = new Ledger('st');
  const cvm: CvmProcess = await startCvm(env);
  let exited = false;
  void cvm.exited.then(() => (exited = true));

  // One request in flight across the signal: its headers are in, its body is not.
  const inflightBatch = mixedBatch(5, 1_000_000, 'st-inflight');
  const inflight = await slowPost(cvm.url, JSON.stringify({ batch: inflightBatch }));
  for (const e of inflightBatch) ledger.attempted.add(e.event_id);

  const streaming = ledger.stream(viaFetch(cvm.url), { senders: 4, until: () => exited, pauseMs: 10 });
  await sleep(3000); // long enough for the transformer to have a (slow) batch in hand
  const health = watchHealth(cvm.url, () => exited);
  const signalledAt = Date.now();
  cvm.child.kill('SIGTERM');
  // The stream's requests are slow (sealing waits for chDB behind the held insert): two quick senders of
  // one-event batches besides, as new clients arriving during the drain.
  const retryAfter = new Set<string>();
  const arrivingPost: Post = async (body) => {
    const res = await fetch(`${cvm.url}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-cvm-key': WRITE }, body });
    if (res.status === 503) retryAfter.add(res.headers.get('retry-after') ?? 'none');
    return { status: res.status, body: await res.text() };
  };
  const arriving = ledger.stream(arrivingPost, { senders: 2, size: 1, until: () => exited, pauseMs: 10 });
  await waitFor('the collector to refuse with 503 draining', () => ledger.count('503 draining') > 0 || exited, 30_000, 20);
  const inflightAnswer = await inflight.finish();
  const code = await cvm.exited;
  const drainSeconds = (Date.now() - signalledAt) / 1000;
  await Promise.all([streaming, arriving]);
  const healthSeen = await health;

  expect(code, `${cvm.child.signalCode ?? ''}\n${cvm.output().slice(-4000)}`).toBe(0); // 0: drained within CVM_SHUTDOWN_TIMEOUT_S (a timeout exits 1)
  // The request in flight at the signal was finished and acknowledged.
  expect(inflightAnswer.status, JSON.stringify(inflightAnswer)).toBe(200);
  for (const e of inflightBatch) ledger.acknowledged.add(e.event_id);
  // Nothing but 200, 503 draining, or no answer once the listener closed.
  const statuses = [...ledger.statuses.keys()];
  expect(statuses.filter((s) => !['200', '503 draining', 'no answer'].includes(s))).toEqual([]);
  expect(ledger.count('503 draining'), 'requests refused with 503 draining').toBeGreaterThan(0);
  expect([...retryAfter], 'Retry-After of the refusals').toEqual(['5']);
  expect(healthSeen.length, 'GET /health answers while draining').toBeGreaterThan(0);
  expect(healthSeen.every((h) => h.status === 503 && h.body.status === 'draining')).toBe(true);

  // Post-mortem: the batch in hand was finished and committed: nothing is stored at or past the commit.
  const el = await EmbeddedEventLog.open({ dir: path.join(dir, 'log'), maxBytes: config.log.maxBytes, retentionMs: 3_600_000, log: silent });
  const [lag] = await el.lag(config.topics.events, TRANSFORM_GROUP);
  await el.close();
  ch = await connectClickHouse(config);
  const [past] = await ch.rows<{ n: string }>('SELECT count() AS n FROM events WHERE log_offset >= {c:UInt64}', { c: lag!.committed });
  const [stored] = await ch.rows<{ n: string }>('SELECT count() AS n FROM events');
  await ch.exec('DROP VIEW fault_slow_events_insert');
  await ch.close();
  expect(lag!.committed, 'committed offset').toBeGreaterThan(0);
  expect(Number(past!.n), 'rows stored at or past the committed offset').toBe(0);

  // Restart: what the log still holds is stored, once.
  const last = await startCvm(env);
  await waitForHealthyDrain(last.url, 90_000);
  last.child.kill('SIGTERM');
  expect(await last.exited).toBe(0);

  ch = await connectClickHouse(config);
  try {
    recordFault(
      20,
      'SIGTERM mid-stream and mid-batch (graceful drain), then restart',
      await audit(ch, ledger),
      `drained in ${drainSeconds.toFixed(1)} s with a 2.5 s events insert in hand (exit 0); at exit ${stored!.n} events stored, offset ${lag!.committed} committed, 0 rows past it; /health seen draining ×${healthSeen.length}; the request in flight got 200; answers: ${ledger.statusSummary()}`,
      t0,
    );
  } finally {
    await ch.close();
  }
});

it('a drain that hangs exits 1 at CVM_SHUTDOWN_TIMEOUT_S; a second SIGTERM exits at once (143)', async () => {
  const dir = tempDir('cvm-rel-sigterm2-');
  // Timeout: a request that never completes holds the HTTP server's close.
  const a = await startCvm(envFor(dir, { CVM_SHUTDOWN_TIMEOUT_S: '2' }));
  const hungA = await slowPost(a.url, JSON.stringify({ batch: mixedBatch(2, 0, 'st-hung') }));
  await sleep(300);
  a.child.kill('SIGTERM');
  expect(await a.exited).toBe(1);
  void hungA.finish().catch(() => undefined);

  // Second signal: the drain is held the same way, with the default 30 s timeout; the second SIGTERM ends it.
  const b = await startCvm(envFor(dir, { CVM_LOG_LEVEL: 'info' }));
  const hungB = await slowPost(b.url, JSON.stringify({ batch: mixedBatch(2, 1, 'st-hung') }));
  await sleep(300);
  b.child.kill('SIGTERM');
  await waitFor('the drain to begin', () => b.output().includes('"msg":"draining'), 20_000, 20);
  b.child.kill('SIGTERM');
  expect(await b.exited).toBe(143); // not 1: it did not wait for the 30 s timeout
  expect(b.output()).toContain('second signal');
  void hungB.finish().catch(() => undefined);
});
