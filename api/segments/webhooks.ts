// Pushes a segment's members to its webhook after a model run. The body is signed with the segment's
// secret: X-CVM-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>, so the receiver can check it came
// from this cvm and was not altered. Failures are retried a few times with growing pauses, then logged.
import { signBody } from '../../lib/crypto.ts';
import type { Logger } from '../../lib/logger.ts';

export interface DeliveryResult {
  ok: boolean;
  attempts: number;
  status: number | null;
  error?: string;
}

export interface WebhookOptions {
  /** Pause before each retry; attempts = 1 + length. */
  retryDelaysMs: number[];
  timeoutMs: number;
}

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = { retryDelaysMs: [1_000, 5_000, 20_000], timeoutMs: 10_000 };

/** Only the host goes to the log: webhook URLs often carry a token in the path or query. */
export function webhookHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid-url';
  }
}

export async function deliver(url: string, secret: string, payload: unknown, log: Logger, opts: WebhookOptions = DEFAULT_WEBHOOK_OPTIONS): Promise<DeliveryResult> {
  const body = JSON.stringify(payload);
  const headers = { 'content-type': 'application/json', 'user-agent': 'cvm-webhook/1', 'x-cvm-signature': signBody(secret, body) };
  let last: DeliveryResult = { ok: false, attempts: 0, status: null };
  for (let attempt = 1; attempt <= opts.retryDelaysMs.length + 1; attempt++) {
    if (attempt > 1) await new Promise((r) => setTimeout(r, opts.retryDelaysMs[attempt - 2]));
    try {
      const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(opts.timeoutMs), redirect: 'error' });
      await res.arrayBuffer().catch(() => undefined);
      last = { ok: res.ok, attempts: attempt, status: res.status };
      if (res.ok) return last;
      last.error = `HTTP ${res.status}`;
    } catch (err) {
      last = { ok: false, attempts: attempt, status: null, error: (err as Error).name === 'TimeoutError' ? 'timed out' : (err as Error).message };
    }
    log.warn({ host: webhookHost(url), attempt, status: last.status, problem: last.error }, 'webhook delivery failed');
  }
  return last;
}
