// CvmClient: sends events from a shop's back end (orders, refunds, sign-ups) to the collector.
// Events are checked against the contract when they are made (a bad purchase throws at the call
// site, not minutes later), batched by size and time, and retried on 5xx/429/network errors with
// backoff (Retry-After honoured). Event ids are made here, so a retried batch that had in fact
// arrived is folded by event_id downstream; purchases get an id derived from the order id, so
// sending the same order twice (e.g. a replay after a crash) also dedupes.
import { randomUUID } from 'node:crypto';
import { sha1Uuid } from '../lib/ids.ts';
import type { BatchResponse, RejectedEntry } from './collector.routes.ts';
import { validateEvent, type CvmEvent, type EventProblem } from './contract.ts';
import { signCustomerId } from './identity.ts';
import { createLogger, type Logger } from '../lib/logger.ts';

export interface CvmClientOptions {
  /** Collector origin, e.g. https://cvm.example.com */
  host: string;
  /** The site's write key (sent in X-CVM-Key). */
  key: string;
  /**
   * The site's identity secret (`cvm keys identity-secret --site S`). With it every identify and alias is
   * signed (HMAC-SHA256 of the customer id), so the collector lets it link ids and change the profile.
   */
  identitySecret?: string;
  /** Send once this many events are queued (1-500). Default 100. */
  flushAt?: number;
  /** ...or this long after the first queued event. Default 1000 ms. */
  flushIntervalMs?: number;
  /** Attempts after the first before a batch is given up (reported to onError). Default 10. */
  maxRetries?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Longest Retry-After honoured; longer values are capped. Default 10 minutes. */
  maxRetryAfterMs?: number;
  timeoutMs?: number;
  /** Events held while the collector is unreachable; beyond it the oldest are dropped (and reported). */
  maxQueue?: number;
  /** Called for events the collector refused (4xx), rejected one by one, or that could not be delivered. */
  onError?: (err: CvmDeliveryError) => void;
  log?: Logger;
}

export type EventInput = Partial<Pick<CvmEvent, 'anonymous_id' | 'customer_id' | 'session_id' | 'context' | 'properties' | 'traits'>> & {
  type: string;
  /** Event time (Date, epoch ms or ISO string). Default: now. */
  ts?: Date | number | string;
  event_id?: string;
};

export interface Item {
  product_id: string;
  quantity: number;
  price: number;
  category?: string;
  title?: string;
}

interface Who {
  customer_id?: string;
  anonymous_id?: string;
  session_id?: string;
  ts?: Date | number | string;
  context?: CvmEvent['context'];
}

export interface PurchaseInput extends Who {
  order_id: string;
  items: Item[];
  total: number;
  currency: string;
  properties?: Record<string, unknown>;
}

export interface RefundInput extends Who {
  order_id: string;
  amount: number;
  currency: string;
  items?: Item[];
  /** Set when an order can have several refunds: the event id is derived from it, so resends dedupe. */
  refund_id?: string;
  properties?: Record<string, unknown>;
}

export class CvmEventError extends Error {
  constructor(readonly problem: EventProblem) {
    super(`invalid event: ${problem.field} ${problem.reason}`);
    this.name = 'CvmEventError';
  }
}

export class CvmDeliveryError extends Error {
  constructor(
    readonly kind: 'refused' | 'rejected' | 'undeliverable' | 'dropped',
    message: string,
    readonly events: CvmEvent[],
    readonly status?: number,
    readonly rejected: RejectedEntry[] = [],
  ) {
    super(message);
    this.name = 'CvmDeliveryError';
  }
}

export interface ClientStats {
  queued: number;
  sent: number;
  rejected: number;
  failed: number;
  dropped: number;
  retries: number;
  requests: number;
}

const LIBRARY = { name: 'cvm-node', version: '0.1.0' };
const MAX_BODY_CHARS = 450_000; // under the collector's 500 KB body limit

/** A UUID (version-5 layout) from a SHA-1 of the parts: the same order always gets the same event id. */
export function stableEventId(...parts: string[]): string {
  return sha1Uuid(`cvm\u0000${parts.join('\u0000')}`);
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class CvmClient {
  private readonly url: string;
  private readonly opts: Required<Omit<CvmClientOptions, 'onError' | 'log' | 'identitySecret'>>;
  private readonly log: Logger;
  private queue: CvmEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private draining: Promise<void> | null = null;
  /** Set by flush and the interval timer: send partial batches too, until the queue is empty. */
  private flushAll = false;
  private closed = false;
  private readonly counts = { sent: 0, rejected: 0, failed: 0, dropped: 0, retries: 0, requests: 0 };

  constructor(private readonly options: CvmClientOptions) {
    if (!options.host) throw new Error('CvmClient needs host (the collector URL)');
    if (!options.key) throw new Error('CvmClient needs key (the site write key)');
    this.url = `${options.host.replace(/\/+$/, '')}/v1/batch`;
    this.opts = {
      host: options.host,
      key: options.key,
      flushAt: Math.min(500, Math.max(1, options.flushAt ?? 100)),
      flushIntervalMs: options.flushIntervalMs ?? 1000,
      maxRetries: options.maxRetries ?? 10,
      retryBaseMs: options.retryBaseMs ?? 500,
      retryMaxMs: options.retryMaxMs ?? 30_000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 600_000,
      timeoutMs: options.timeoutMs ?? 10_000,
      maxQueue: options.maxQueue ?? 10_000,
    };
    this.log = options.log ?? createLogger({ name: 'cvm-client' });
  }

  /** Queues any event; returns its event_id. Throws CvmEventError when it breaks the contract. */
  track(input: EventInput): string {
    if (this.closed) throw new Error('CvmClient is closed');
    const { ts, event_id, ...rest } = input;
    const event = {
      ...rest,
      event_id: event_id ?? randomUUID(),
      ts: toIso(ts),
      context: { library: LIBRARY, ...rest.context },
      properties: rest.properties ?? {},
    } as CvmEvent;
    const secret = this.options.identitySecret;
    if (secret && (event.type === 'identify' || event.type === 'alias') && typeof event.customer_id === 'string') {
      event.identity_signature = signCustomerId(secret, event.customer_id);
    }
    const checked = validateEvent(event);
    if (!checked.ok) throw new CvmEventError(checked.problem);
    this.enqueue(checked.event);
    return checked.event.event_id;
  }

  identify(customerId: string, traits: Record<string, unknown> = {}, extra: Omit<EventInput, 'type' | 'customer_id' | 'traits'> = {}): string {
    return this.track({ ...extra, type: 'identify', customer_id: customerId, traits });
  }

  purchase(p: PurchaseInput): string {
    const { order_id, items, total, currency, properties, ...who } = p;
    return this.track({
      ...who,
      type: 'purchase',
      event_id: stableEventId('purchase', order_id),
      properties: { ...properties, order_id, items, total, currency: currency.toUpperCase() },
    });
  }

  refund(r: RefundInput): string {
    const { order_id, amount, currency, items, refund_id, properties, ...who } = r;
    return this.track({
      ...who,
      type: 'refund',
      ...(refund_id ? { event_id: stableEventId('refund', order_id, refund_id) } : {}),
      properties: { ...properties, order_id, amount, currency: currency.toUpperCase(), ...(items ? { items } : {}), ...(refund_id ? { refund_id } : {}) },
    });
  }

  /** Resolves once every event queued so far was delivered, refused or given up. */
  async flush(): Promise<void> {
    while (this.queue.length || this.draining) await this.drain(true);
  }

  /** Flushes and refuses further events. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    this.clearTimer();
  }

  stats(): ClientStats {
    return { queued: this.queue.length, ...this.counts };
  }

  private enqueue(event: CvmEvent): void {
    this.queue.push(event);
    if (this.queue.length > this.opts.maxQueue) {
      const dropped = this.queue.splice(0, this.queue.length - this.opts.maxQueue);
      this.counts.dropped += dropped.length;
      this.report(new CvmDeliveryError('dropped', `queue over ${this.opts.maxQueue} events; dropped the oldest ${dropped.length}`, dropped));
    }
    if (this.queue.length >= this.opts.flushAt) void this.drain(false);
    else this.startTimer();
  }

  private startTimer(): void {
    if (!this.timer && this.queue.length) this.timer = setTimeout(() => void this.drain(true), this.opts.flushIntervalMs);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One drain loop at a time sends full batches, and partial ones too when all is asked for. */
  private drain(all: boolean): Promise<void> {
    if (all) {
      this.flushAll = true;
      this.clearTimer();
    }
    this.draining ??= (async () => {
      try {
        while (this.queue.length >= this.opts.flushAt || (this.flushAll && this.queue.length)) await this.deliver(this.take());
      } finally {
        this.draining = null;
        this.flushAll = false;
        this.startTimer(); // a partial batch left behind waits for the interval
      }
    })();
    return this.draining;
  }

  private take(): CvmEvent[] {
    let size = 0;
    let n = 0;
    while (n < this.queue.length && n < this.opts.flushAt) {
      const s = JSON.stringify(this.queue[n]).length + 1;
      if (n > 0 && size + s > MAX_BODY_CHARS) break;
      size += s;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private async deliver(batch: CvmEvent[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const sent_at = new Date().toISOString();
      let res: Response | null = null;
      let error: unknown = null;
      this.counts.requests++;
      try {
        res = await fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-cvm-key': this.opts.key, 'user-agent': `${LIBRARY.name}/${LIBRARY.version}` },
          body: JSON.stringify({ batch: batch.map((e) => ({ ...e, sent_at })) }),
          signal: AbortSignal.timeout(this.opts.timeoutMs),
        });
      } catch (err) {
        error = err;
      }
      const body = res ? await readJson(res) : null;
      if (res?.ok) {
        const rejected = (body as BatchResponse | null)?.rejected ?? [];
        this.counts.sent += batch.length - rejected.length;
        if (rejected.length) this.reject(batch, rejected, res.status);
        return;
      }
      if (res?.status === 413 && batch.length > 1) {
        // Too big for the collector: send the halves separately.
        const half = batch.length >> 1;
        await this.deliver(batch.slice(0, half));
        return this.deliver(batch.slice(half));
      }
      const retryable = !res || res.status === 429 || res.status === 408 || res.status >= 500;
      if (res && !retryable) {
        const b = body as (Partial<BatchResponse> & { error?: string; message?: string }) | null;
        if (b?.error === 'all_events_rejected' && b.rejected) return this.reject(batch, b.rejected, res.status);
        this.counts.failed += batch.length;
        return this.report(new CvmDeliveryError('refused', `collector refused the batch: ${res.status} ${b?.error ?? ''} ${b?.message ?? ''}`.trim(), batch, res.status));
      }
      if (attempt >= this.opts.maxRetries) {
        this.counts.failed += batch.length;
        const why = res ? `status ${res.status}` : String((error as Error)?.message ?? error);
        return this.report(new CvmDeliveryError('undeliverable', `gave up after ${attempt + 1} attempts: ${why}`, batch, res?.status));
      }
      const retryAfter = res ? parseRetryAfter(res.headers.get('retry-after')) : null;
      const wait = retryAfter !== null ? Math.min(retryAfter, this.opts.maxRetryAfterMs) : this.backoff(attempt);
      this.counts.retries++;
      this.log.warn({ status: res?.status, err: error ?? undefined, attempt, waitMs: Math.round(wait), events: batch.length }, 'collector send failed; retrying');
      await sleep(wait);
    }
  }

  /** Exponential backoff with jitter (half fixed, half random), capped. */
  private backoff(attempt: number): number {
    const exp = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** Math.min(attempt, 20));
    return exp / 2 + Math.random() * (exp / 2);
  }

  private reject(batch: CvmEvent[], rejected: RejectedEntry[], status: number): void {
    this.counts.rejected += rejected.length;
    const events = rejected.map((r) => batch[r.index]).filter((e): e is CvmEvent => e !== undefined);
    const first = rejected[0];
    this.report(new CvmDeliveryError('rejected', `collector rejected ${rejected.length} event(s)${first ? `: ${first.field} ${first.reason}` : ''}`, events, status, rejected));
  }

  private report(err: CvmDeliveryError): void {
    if (this.options.onError) {
      try {
        this.options.onError(err);
      } catch (e) {
        this.log.error({ err: e }, 'CvmClient onError handler threw');
      }
    } else this.log.error({ kind: err.kind, status: err.status, events: err.events.length, msg: err.message }, 'events not delivered');
  }
}

function toIso(ts: Date | number | string | undefined): string {
  if (ts === undefined) return new Date().toISOString();
  if (typeof ts === 'string') return ts;
  return new Date(ts).toISOString();
}

async function readJson(res: Response): Promise<unknown> {
  // Always consume the body so the connection goes back to the pool.
  const text = await res.text().catch(() => '');
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}
