// Pushes a segment's members to its webhook after a model run. The body is signed with the segment's
// secret: X-CVM-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>, so the receiver can check it came
// from this cvm and was not altered. Failures are retried a few times with growing pauses, then logged.
// NOTE: the host is resolved and checked once (webhook-target.ts) and every attempt connects to that
// address; redirects are never followed (a 3xx is a failed delivery).
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { signBody } from '../../lib/crypto.ts';
import type { Logger } from '../../lib/logger.ts';
import { resolveTarget, webhookPolicy, WebhookTargetError, type WebhookPolicy, type WebhookTarget } from './webhook-target.ts';

export interface DeliveryResult {
  ok: boolean;
  attempts: number;
  status: number | null;
  error?: string;
  /** The target was refused (not a public address, not allow-listed): nothing was sent. */
  refused?: boolean;
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

/** One POST to the resolved address; resolves with the status code. */
function postTo(target: WebhookTarget, headers: Record<string, string>, body: string, timeoutMs: number): Promise<number> {
  const { url } = target;
  const tlsName = net.isIP(url.hostname.replace(/^\[|\]$/g, '')) ? {} : { servername: url.hostname };
  const options: https.RequestOptions = {
    method: 'POST',
    // The checked address itself: no second lookup can hand out another one.
    host: target.address,
    family: target.family,
    port: url.port || (url.protocol === 'https:' ? 443 : 80),
    path: url.pathname + url.search,
    headers: { ...headers, host: url.host, 'content-length': String(Buffer.byteLength(body)) },
    agent: false,
    signal: AbortSignal.timeout(timeoutMs),
    ...(url.protocol === 'https:' ? tlsName : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(options, (res) => {
      res.resume(); // the answer's body is not needed
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function deliver(
  url: string, secret: string, payload: unknown, log: Logger,
  opts: WebhookOptions = DEFAULT_WEBHOOK_OPTIONS, policy: WebhookPolicy = webhookPolicy(),
): Promise<DeliveryResult> {
  let target: WebhookTarget;
  try {
    target = await resolveTarget(url, policy);
  } catch (err) {
    if (!(err instanceof WebhookTargetError)) throw err;
    // Refused before any connection: nothing is sent, and retrying would not change the answer.
    log.warn({ host: webhookHost(url), problem: err.message }, 'webhook target refused');
    return { ok: false, attempts: 0, status: null, error: err.message, refused: true };
  }
  const body = JSON.stringify(payload);
  const headers = { 'content-type': 'application/json', 'user-agent': 'cvm-webhook/1', 'x-cvm-signature': signBody(secret, body) };
  let last: DeliveryResult = { ok: false, attempts: 0, status: null };
  for (let attempt = 1; attempt <= opts.retryDelaysMs.length + 1; attempt++) {
    if (attempt > 1) await new Promise((r) => setTimeout(r, opts.retryDelaysMs[attempt - 2]));
    try {
      const status = await postTo(target, headers, body, opts.timeoutMs);
      const ok = status >= 200 && status < 300;
      last = { ok, attempts: attempt, status };
      if (ok) return last;
      last.error = status >= 300 && status < 400 ? `HTTP ${status}: redirects are not followed` : `HTTP ${status}`;
    } catch (err) {
      const e = err as Error;
      last = { ok: false, attempts: attempt, status: null, error: e.name === 'TimeoutError' || e.name === 'AbortError' ? 'timed out' : e.message };
    }
    log.warn({ host: webhookHost(url), attempt, status: last.status, problem: last.error }, 'webhook delivery failed');
  }
  return last;
}
