// Start-up waits for the services a role depends on (Kafka, a ClickHouse server) instead of dying when
// they come up later than cvm does (compose, Kubernetes, a reboot). One line when the wait begins, one
// when it ends, and past CVM_STARTUP_TIMEOUT_S an error that names what did not come.
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from './logger.ts';
import { backoffMs } from './eventlog/types.ts';

/** A dependency did not answer within the start-up timeout. */
export class DependencyTimeoutError extends Error {
  constructor(
    readonly dependency: string,
    readonly at: string,
    readonly waitedMs: number,
    readonly lastError: unknown,
  ) {
    super(`${dependency} at ${at} did not answer within ${(waitedMs / 1000).toFixed(0)} s (CVM_STARTUP_TIMEOUT_S): ${reasonOf(lastError)}`);
    this.name = 'DependencyTimeoutError';
  }
}

export interface WaitForOptions {
  /** What is waited for, as the log line names it: "Kafka", "ClickHouse". */
  dependency: string;
  /** Where: host:port list or URL (never with credentials). */
  at: string;
  /** Total time allowed; 0 means one attempt. */
  timeoutMs: number;
  log: Logger;
  /** First pause between attempts (doubles up to capMs, with jitter). */
  baseMs?: number;
  capMs?: number;
}

/** Pause before retry `attempt` (0-based): the log's jittered backoff, with start-up's shorter steps. */
export function retryDelayMs(attempt: number, baseMs = 250, capMs = 5000): number {
  return backoffMs(attempt, baseMs, capMs);
}

/**
 * Runs `probe` until it resolves, pausing with backoff between failures. Each attempt is also cut off at
 * the deadline, so a probe that hangs (a black-holed address) cannot hold start-up past it.
 */
export async function waitFor<T>(probe: () => Promise<T>, opts: WaitForOptions): Promise<T> {
  const started = Date.now();
  const deadline = started + Math.max(0, opts.timeoutMs);
  const { dependency, at, log } = opts;
  let waiting = false;
  for (let attempt = 0; ; attempt++) {
    let result: { ok: true; value: T } | { ok: false; err: unknown };
    try {
      result = { ok: true, value: await withDeadline(probe(), deadline, dependency) };
    } catch (err) {
      result = { ok: false, err };
    }
    if (result.ok) {
      if (waiting) log.info({ dependency, at, waitedMs: Date.now() - started, attempts: attempt + 1 }, `${dependency} reachable at ${at}`);
      return result.value;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new DependencyTimeoutError(dependency, at, Date.now() - started, result.err);
    if (!waiting) {
      waiting = true;
      const timeoutS = Math.round(opts.timeoutMs / 1000);
      log.warn({ dependency, at, timeoutS, reason: reasonOf(result.err) }, `waiting for ${dependency} at ${at} … (up to ${timeoutS} s, CVM_STARTUP_TIMEOUT_S): ${reasonOf(result.err)}`);
    } else {
      log.debug({ dependency, at, attempt, reason: reasonOf(result.err) }, `${dependency} not reachable yet`);
    }
    await delay(Math.min(left, retryDelayMs(attempt, opts.baseMs, opts.capMs)));
  }
}

function withDeadline<T>(work: Promise<T>, deadline: number, dependency: string): Promise<T> {
  const left = deadline - Date.now();
  if (left <= 0) return work;
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from ${dependency} before the start-up deadline`)), left);
  });
  return Promise.race([work, cut]).finally(() => clearTimeout(timer));
}

/** The messages of an error and its causes, e.g. "Connection error: connect ECONNREFUSED 127.0.0.1:9092". */
export function reasonOf(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e && depth < 8; depth++) {
    const message = e instanceof Error ? e.message : String(e);
    if (message && !parts.includes(message)) parts.push(message);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(': ') || 'no answer';
}
