// Customer merges: two customer ids that are one person. A merge is a row in customer_merges; the views
// events_resolved and sessions send `from`'s events to `into` at query time, so a merge needs no rewrite
// and an undo is one more row. Chains are followed up to MAX_CHAIN hops (the views unroll that many).
import crypto from 'node:crypto';
import type { ClickHouse } from '../lib/clickhouse.ts';
import { chTime } from '../lib/clickhouse.ts';
import { sql } from '../lib/sql.ts';
import { recordAudit, type Actor } from '../lib/audit.ts';

export const MAX_CHAIN = 4;

export interface MergeRecord {
  merge_id: string;
  from_customer_id: string;
  into_customer_id: string;
  at: string;
  actor: string;
  undone: number;
  updated_at: string;
}

export class MergeError extends Error {
  constructor(readonly code: 'invalid' | 'unknown_customer' | 'already_merged' | 'cycle' | 'chain_too_long' | 'not_found' | 'already_undone', message: string, readonly field: string, readonly status: number) {
    super(message);
  }
}

const cleanId = (s: unknown): string => (typeof s === 'string' ? s.trim() : '');

export async function listMerges(ch: ClickHouse, opts: { id?: string; limit?: number } = {}): Promise<MergeRecord[]> {
  const rows = await ch.rows<MergeRecord>(sql('transform/merges'), { id: opts.id ?? '', limit: Math.max(1, Math.min(opts.limit ?? 100, 10_000)) });
  return rows.map((r) => ({ ...r, undone: Number(r.undone) }));
}

/** Hops from `id` to the customer it finally resolves to, through active merges (`edges`: from → into). */
function chainLength(edges: Map<string, string>, id: string): { end: string; hops: number } {
  let cur = id;
  let hops = 0;
  const seen = new Set([id]);
  for (let next = edges.get(cur); next !== undefined; next = edges.get(cur)) {
    if (seen.has(next)) return { end: next, hops: Infinity };
    seen.add(next);
    cur = next;
    hops += 1;
  }
  return { end: cur, hops };
}

export async function mergeCustomers(ch: ClickHouse, input: { from: unknown; into: unknown; actor: Actor }): Promise<MergeRecord> {
  const from = cleanId(input.from);
  const into = cleanId(input.into);
  if (!from || from.length > 128) throw new MergeError('invalid', 'from must be a customer id (1-128 characters)', 'from', 400);
  if (!into || into.length > 128) throw new MergeError('invalid', 'into must be a customer id (1-128 characters)', 'into', 400);
  if (from === into) throw new MergeError('invalid', 'from and into are the same customer', 'into', 400);

  const known = new Set((await ch.rows<{ customer_id: string }>(sql('transform/known-customers'), { ids: [from, into] })).map((r) => r.customer_id));
  for (const [field, id] of [['from', from], ['into', into]] as const) {
    if (!known.has(id)) throw new MergeError('unknown_customer', `no customer ${id}`, field, 404);
  }

  const active = (await listMerges(ch, { limit: 10_000 })).filter((m) => m.undone === 0);
  const current = active.find((m) => m.from_customer_id === from);
  if (current) throw new MergeError('already_merged', `${from} is already merged into ${current.into_customer_id} (merge ${current.merge_id}); undo that first`, 'from', 409);
  const edges = new Map(active.map((m) => [m.from_customer_id, m.into_customer_id]));
  edges.set(from, into);
  const target = chainLength(edges, into);
  if (target.hops === Infinity || target.end === from) throw new MergeError('cycle', `${into} already resolves to ${from}; merging would make a loop`, 'into', 409);
  // Every id whose chain runs through the new link must still resolve within MAX_CHAIN hops.
  for (const start of edges.keys()) {
    if (chainLength(edges, start).hops > MAX_CHAIN) {
      throw new MergeError('chain_too_long', `merging ${from} into ${into} makes a chain of more than ${MAX_CHAIN} merges; merge into ${target.end} instead`, 'into', 409);
    }
  }

  const now = Date.now();
  const row: MergeRecord = { merge_id: crypto.randomUUID(), from_customer_id: from, into_customer_id: into, at: chTime(now), actor: input.actor.id, undone: 0, updated_at: chTime(now) };
  await ch.insert('customer_merges', [row]);
  await recordAudit(ch, input.actor, 'customers.merge', row.merge_id, { from, into });
  return row;
}

export async function undoMerge(ch: ClickHouse, mergeId: string, actor: Actor): Promise<MergeRecord> {
  const [m] = await listMerges(ch, { id: mergeId, limit: 1 });
  if (!m) throw new MergeError('not_found', `no merge ${mergeId}`, 'id', 404);
  if (m.undone) throw new MergeError('already_undone', `merge ${mergeId} was already undone`, 'id', 409);
  // A later updated_at than the merge row, even within the same millisecond, so the undo wins.
  const updated = Math.max(Date.now(), Date.parse(m.updated_at.replace(' ', 'T') + 'Z') + 1);
  const row: MergeRecord = { ...m, undone: 1, updated_at: chTime(updated) };
  await ch.insert('customer_merges', [row]);
  await recordAudit(ch, actor, 'customers.merge.undo', mergeId, { from: m.from_customer_id, into: m.into_customer_id });
  return row;
}
