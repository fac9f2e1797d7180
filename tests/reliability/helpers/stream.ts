// Streams events at the collector and keeps the books: which event ids were sent and which got a 2xx.
// After a fault, audit() compares the books with what ClickHouse holds (no FINAL: duplicates must not exist).
import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ClickHouse } from '../../../lib/clickhouse.ts';
import { WRITE } from '../../helpers/runtime.ts';

export type Post = (body: string) => Promise<{ status: number; body: string }>;

export function viaFetch(url: string): Post {
  return async (body) => {
    const res = await fetch(`${url}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-cvm-key': WRITE }, body });
    return { status: res.status, body: await res.text() };
  };
}

export function viaInject(app: FastifyInstance): Post {
  return async (body) => {
    const res = await app.inject({ method: 'POST', url: '/v1/batch', headers: { 'content-type': 'application/json', 'x-cvm-key': WRITE }, payload: body });
    return { status: res.statusCode, body: res.body };
  };
}

type Event = Record<string, unknown> & { event_id: string };

/** A shop's mix: anonymous browsing, carts, purchases with lines (so order_items is checked too), identifies. */
export function mixedBatch(size: number, seq: number, tag = 'r'): Event[] {
  const now = Date.now();
  return Array.from({ length: size }, (_, i) => {
    const n = seq * size + i;
    const ts = new Date(now - (n % 5000)).toISOString();
    const anon = `${tag}-anon-${n % 97}`;
    const customer = `${tag}-c${n % 41}`;
    const id = crypto.randomUUID();
    switch (n % 10) {
      case 0:
        return {
          event_id: id, type: 'purchase', ts, customer_id: customer,
          properties: { order_id: `${tag}-o-${id.slice(0, 8)}`, total: 30, currency: 'USD', items: [{ product_id: `p${n % 13}`, quantity: 1, price: 10 }, { product_id: `p${(n + 1) % 13}`, quantity: 2, price: 10 }] },
        };
      case 1:
        return { event_id: id, type: 'add_to_cart', ts, anonymous_id: anon, properties: { product_id: `p${n % 13}`, quantity: 1, price: 10, currency: 'EUR' } };
      case 2:
        return { event_id: id, type: 'identify', ts, anonymous_id: anon, customer_id: customer, properties: {} };
      default:
        return { event_id: id, type: 'product_view', ts, anonymous_id: anon, properties: { product_id: `p${n % 13}` } };
    }
  });
}

export class Ledger {
  readonly attempted = new Set<string>();
  readonly acknowledged = new Set<string>();
  readonly statuses = new Map<string, number>();
  private seq = 0;

  constructor(private readonly tag = 'r') {}

  count(status: string): number {
    return this.statuses.get(status) ?? 0;
  }

  /** Posts one batch; every event of a 200 answer that was not rejected counts as acknowledged. */
  async send(post: Post, size = 25): Promise<number> {
    const batch = mixedBatch(size, this.seq++, this.tag);
    for (const e of batch) this.attempted.add(e.event_id);
    let status: number;
    try {
      const res = await post(JSON.stringify({ batch }));
      status = res.status;
      if (status === 200) {
        const rejected = new Set((JSON.parse(res.body) as { rejected: Array<{ index: number }> }).rejected.map((r) => r.index));
        batch.forEach((e, i) => rejected.has(i) || this.acknowledged.add(e.event_id));
      }
      const key = status === 503 ? `503 ${(JSON.parse(res.body) as { error?: string }).error ?? ''}`.trim() : String(status);
      this.statuses.set(key, (this.statuses.get(key) ?? 0) + 1);
    } catch {
      status = 0; // connection refused or reset: the process is gone
      this.statuses.set('no answer', (this.statuses.get('no answer') ?? 0) + 1);
    }
    return status;
  }

  /** `senders` concurrent loops, each sending until `until()` says stop (bounded: at most `maxBatches` each);
   *  `beforeSend` may hold a sender back (pacing by the consumers' lag). */
  async stream(
    post: Post,
    opts: { senders?: number; until: () => boolean; maxBatches?: number; size?: number; pauseMs?: number; beforeSend?: () => Promise<void> },
  ): Promise<void> {
    await Promise.all(
      Array.from({ length: opts.senders ?? 4 }, async () => {
        for (let i = 0; i < (opts.maxBatches ?? 100_000) && !opts.until(); i++) {
          if (opts.beforeSend) await opts.beforeSend();
          if (opts.until()) return;
          const status = await this.send(post, opts.size);
          if (status === 0) return;
          if (opts.pauseMs || status === 503) await new Promise((r) => setTimeout(r, opts.pauseMs ?? 20));
        }
      }),
    );
  }

  statusSummary(): string {
    return [...this.statuses.entries()].sort().map(([k, v]) => `${k}: ${v}`).join(', ');
  }
}

export interface Audit {
  acknowledged: number;
  /** Acknowledged events found in `events` (or, refused by the transformer, in `events_rejected`). */
  stored: number;
  /** Events stored although their request got no 2xx (in flight at the fault): allowed, once. */
  inflightStored: number;
  /** count() - uniqExact(event_id) over `events`, plus the same over dead-letter rows, without FINAL. */
  duplicated: number;
  lost: number;
  /** Stored events nobody sent: must be 0. */
  strays: number;
  /** Order lines stored twice (count() - uniqExact of the line key), without FINAL. */
  itemDuplicates: number;
}

export async function audit(ch: ClickHouse, ledger: Ledger): Promise<Audit> {
  const [t] = await ch.rows<{ n: string; u: string }>('SELECT count() AS n, uniqExact(event_id) AS u FROM events');
  const [rj] = await ch.rows<{ d: string }>('SELECT count() - uniqExact(reject_id) AS d FROM events_rejected');
  const [it] = await ch.rows<{ d: string }>('SELECT count() - uniqExact(order_id, product_id, event_id) AS d FROM order_items');
  // An acknowledged event ends up in `events`, or in the dead letter if the transformer refuses it.
  const ids = new Set(
    (await ch.rows<{ id: string }>("SELECT toString(event_id) AS id FROM events UNION ALL SELECT event_id AS id FROM events_rejected WHERE event_id != ''")).map((r) => r.id),
  );
  let stored = 0;
  for (const id of ledger.acknowledged) if (ids.has(id)) stored++;
  let inflight = 0;
  let strays = 0;
  for (const id of ids) {
    if (ledger.acknowledged.has(id)) continue;
    if (ledger.attempted.has(id)) inflight++;
    else strays++;
  }
  return {
    acknowledged: ledger.acknowledged.size,
    stored,
    inflightStored: inflight,
    duplicated: Number(t!.n) - Number(t!.u) + Number(rj!.d),
    lost: ledger.acknowledged.size - stored,
    strays,
    itemDuplicates: Number(it!.d),
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `check` is true (or throws with `what` after `timeoutMs`). */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
