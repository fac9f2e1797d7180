// Back-pressure instead of silent trouble. ClickHouse refuses inserts, so the log cannot drain: the
// collector keeps acknowledging what the log holds, answers 503 log_full with Retry-After once the log is at
// CVM_LOG_HIGH_WATER_PCT of CVM_LOG_MAX_BYTES (before the hard limit), never 2xx for an event it did not
// store, and the transformer's reason (last error, since when, retries) shows in /v1/pipeline/status and
// /metrics. The same with the disk under the log full (a 2 MiB tmpfs). Both recover once the fault clears.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { afterAll, expect, it, vi } from 'vitest';
import { waitForDrain } from '../../bin/runtime.ts';
import { ADMIN, WRITE, tempDir, testRuntime } from '../helpers/runtime.ts';
import type { PipelineStatus } from '../../transform/pipeline-status.ts';
import { Ledger, audit, waitFor, type Post } from './helpers/stream.ts';
import { recordFault } from './helpers/report.ts';

const HOLD = 'ALTER TABLE events ADD CONSTRAINT injected_insert_failure CHECK length(toString(event_id)) = 0';
const RELEASE = 'ALTER TABLE events DROP CONSTRAINT injected_insert_failure';

const mounted: string[] = [];
afterAll(() => {
  for (const dir of mounted) spawnSync('umount', ['-l', dir]);
});

/** POST /v1/batch through inject, keeping the Retry-After of every refusal by its answer ("503 log_full"). */
function posting(app: FastifyInstance, retryAfter: Map<string, Set<string>>, messages: Set<string>): Post {
  return async (body) => {
    const res = await app.inject({ method: 'POST', url: '/v1/batch', headers: { 'content-type': 'application/json', 'x-cvm-key': WRITE }, payload: body });
    if (res.statusCode >= 500) {
      const parsed = JSON.parse(res.body) as { error: string; message: string };
      const key = `${res.statusCode} ${parsed.error}`;
      if (!retryAfter.has(key)) retryAfter.set(key, new Set());
      retryAfter.get(key)!.add(String(res.headers['retry-after'] ?? 'none'));
      messages.add(parsed.message);
    }
    return { status: res.statusCode, body: res.body };
  };
}

async function status(app: FastifyInstance): Promise<PipelineStatus> {
  const res = await app.inject({ method: 'GET', url: '/v1/pipeline/status', headers: { authorization: `Bearer ${ADMIN}` } });
  expect(res.statusCode).toBe(200);
  return res.json() as PipelineStatus;
}

async function metric(app: FastifyInstance, name: string): Promise<number | null> {
  const res = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${ADMIN}` } });
  const line = res.body.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : null;
}

/** Sends until the collector has refused with `answer` for a second (bounded by maxBatches). */
async function streamUntilRefused(ledger: Ledger, post: Post, answer: string): Promise<void> {
  let refusedSince = 0;
  await ledger.stream(post, {
    senders: 2,
    maxBatches: 600,
    until: () => {
      if (ledger.count(answer) > 0 && !refusedSince) refusedSince = Date.now();
      return refusedSince > 0 && Date.now() - refusedSince > 1000;
    },
  });
}

it('failing inserts: 503 log_full with Retry-After from the high-water mark, the reason in status and metrics, then recovery', async () => {
  const t0 = Date.now();
  const maxBytes = 1024 * 1024;
  const rt = await testRuntime({ CVM_LOG_MAX_BYTES: String(maxBytes), CVM_LOG_HIGH_WATER_PCT: '50', CVM_TRANSFORM_FLUSH_MS: '50', CVM_RATE_LIMIT_PER_MINUTE: '10000000' });
  try {
    const app = rt.app!;
    const retryAfter = new Map<string, Set<string>>();
    const messages = new Set<string>();
    const post = posting(app, retryAfter, messages);
    const ledger = new Ledger('bp');
    await ledger.stream(post, { senders: 2, until: () => false, maxBatches: 5 });
    expect(await waitForDrain(rt, 30_000)).toBe(true);
    expect((await status(app)).transformer!.failing).toBeNull();

    await rt.deps.ch.exec(HOLD);
    await streamUntilRefused(ledger, post, '503 log_full');
    expect(ledger.count('503 log_full')).toBeGreaterThan(0);
    expect([...retryAfter.keys()]).toEqual(['503 log_full']);
    expect([...retryAfter.get('503 log_full')!]).toEqual(['30']);
    // Refused at the high-water mark, before the hard limit: the log never reached its budget.
    expect([...messages].every((m) => m.includes('near its limit'))).toBe(true);
    const during = await status(app);
    expect(during.log_usage).toMatchObject({ refusing: true, limit_bytes: maxBytes, high_water_bytes: maxBytes / 2 });
    expect(during.log_usage!.used_bytes!).toBeGreaterThanOrEqual(maxBytes / 2);
    expect(during.log_usage!.used_bytes!).toBeLessThan(maxBytes);
    // The reason: which error, since when, how many retries.
    await waitFor('a second failed attempt', async () => ((await status(app)).transformer!.failing?.retries ?? 0) >= 2, 30_000, 200);
    const failing = (await status(app)).transformer!.failing!;
    expect(failing.last_error).toMatch(/injected_insert_failure/);
    expect(Date.parse(failing.since)).toBeLessThanOrEqual(Date.parse(failing.last_error_at));
    expect(await metric(app, 'cvm_transform_failing')).toBe(1);
    expect(await metric(app, 'cvm_collector_refusing')).toBe(1);
    expect(await metric(app, 'cvm_transform_retries')).toBeGreaterThanOrEqual(2);

    // ClickHouse takes inserts again: the backlog drains, consumed records make room, events are accepted again.
    await rt.deps.ch.exec(RELEASE);
    expect(await waitForDrain(rt, 60_000)).toBe(true);
    const before = ledger.count('200');
    await ledger.stream(post, { senders: 2, until: () => false, maxBatches: 10 });
    expect(ledger.count('200') - before).toBe(20);
    expect(await waitForDrain(rt, 30_000)).toBe(true);
    const after = await status(app);
    expect(after.transformer!.failing).toBeNull();
    expect(after.log_usage!.refusing).toBe(false);
    expect(await metric(app, 'cvm_transform_failing')).toBe(0);

    const result = await audit(rt.deps.ch, ledger);
    expect(result.inflightStored).toBe(0); // every request was answered: nothing refused was stored
    recordFault(
      21,
      'ClickHouse refuses inserts: back-pressure from the log high-water mark (50 % of 1 MiB)',
      result,
      `503 log_full ×${ledger.count('503 log_full')} (Retry-After 30, "near its limit") with ${during.log_usage!.used_pct}% of the log held; transformer.failing showed ${failing.retries} retries of "${failing.last_error.slice(0, 60)}…"; cleared after recovery; answers: ${ledger.statusSummary()}`,
      t0,
    );
  } finally {
    await rt.close();
  }
});

it('a full disk under the log: 503 log_full with Retry-After, the append error in status, recovery without a restart', async () => {
  const t0 = Date.now();
  const dir = tempDir('cvm-rel-bp-disk-');
  const logDir = path.join(dir, 'log');
  fs.mkdirSync(logDir, { recursive: true });
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', logDir], { encoding: 'utf8' });
  if (mount.status === 0) mounted.push(logDir);
  else console.warn(`tmpfs mount not possible (${(mount.stderr || mount.error?.message || '').trim()}): bounding the log with CVM_LOG_MAX_BYTES=1 MiB instead`);
  const rt = await testRuntime({
    CVM_DATA_DIR: dir,
    CVM_TRANSFORM_FLUSH_MS: '50',
    CVM_RATE_LIMIT_PER_MINUTE: '10000000',
    // The disk fills long before this budget's high-water mark (or, unmounted, the budget's hard limit does).
    ...(mount.status === 0 ? {} : { CVM_LOG_MAX_BYTES: String(1024 * 1024), CVM_LOG_HIGH_WATER_PCT: '100' }),
  });
  try {
    const app = rt.app!;
    const retryAfter = new Map<string, Set<string>>();
    const messages = new Set<string>();
    const post = posting(app, retryAfter, messages);
    const ledger = new Ledger('bpd');
    await ledger.stream(post, { senders: 2, until: () => false, maxBatches: 5 });
    expect(await waitForDrain(rt, 30_000)).toBe(true);

    await rt.deps.ch.exec(HOLD);
    // lmdb prints every failed commit with console.error; count them instead of flooding the output.
    let lmdbErrors = 0;
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => void lmdbErrors++);
    await streamUntilRefused(ledger, post, '503 log_full');
    expect(ledger.count('503 log_full')).toBeGreaterThan(0);
    expect([...retryAfter.get('503 log_full')!]).toEqual(['30']);
    const during = await status(app);
    expect(during.log_usage!.append_failures).toBeGreaterThan(0);
    expect(during.log_usage!.last_error).toMatch(mount.status === 0 ? /disk is full/ : /event log is full/);
    expect(during.transformer!.failing?.last_error).toMatch(/injected_insert_failure/);

    await rt.deps.ch.exec(RELEASE);
    quiet.mockRestore();
    expect(await waitForDrain(rt, 60_000)).toBe(true);
    const before = ledger.count('200');
    await ledger.stream(post, { senders: 2, until: () => false, maxBatches: 10 });
    expect(ledger.count('200') - before).toBe(20);
    expect(await waitForDrain(rt, 30_000)).toBe(true);
    const after = await status(app);
    expect(after.log_usage!.append_failures).toBe(0);
    expect(after.transformer!.failing).toBeNull();

    const result = await audit(rt.deps.ch, ledger);
    expect(result.inflightStored).toBe(0);
    recordFault(
      22,
      mount.status === 0 ? 'disk under the log full (2 MiB tmpfs): back-pressure and the reason shown' : 'event log full (budget; tmpfs mount not permitted here)',
      result,
      `503 log_full ×${ledger.count('503 log_full')} (Retry-After 30; ${lmdbErrors} failed LMDB commits); log_usage showed ${during.log_usage!.append_failures} failed appends, last "${during.log_usage!.last_error?.slice(0, 60)}…"; cleared after recovery; answers: ${ledger.statusSummary()}`,
      t0,
    );
  } finally {
    await rt.close();
  }
});
