// Right to erasure and right of access. A person is their customer id, every id merged with it, and every
// anonymous id linked to any of those. Tables are found in the catalogue, not listed here: every table
// with a person column (customer_id, *_customer_id, anonymous_id, actor_id) is covered, so a table that
// another module adds later is erased too. The dead-letter table keeps raw payloads, which are searched
// for the ids. In-memory copies (score cache, recommendation store) are dropped or reloaded.
import crypto from 'node:crypto';
import type { ClickHouse } from '../lib/clickhouse.ts';
import type { PiiCipher } from '../lib/crypto.ts';
import type { AppDeps } from './deps.ts';
import { existingTables } from './tables.ts';

export type PersonColumnKind = 'customer' | 'anonymous' | 'actor';

export function personColumnKind(column: string): PersonColumnKind | null {
  if (column === 'customer_id' || column.endsWith('_customer_id')) return 'customer';
  if (column === 'anonymous_id') return 'anonymous';
  if (column === 'actor_id') return 'actor';
  return null;
}

export interface PersonTable {
  table: string;
  columns: Array<{ name: string; kind: PersonColumnKind }>;
}

export interface PersonIds {
  customers: string[];
  anonymous: string[];
}

/** Tables holding rows (views are skipped: they hold none) with at least one person column. */
export async function personTables(ch: ClickHouse): Promise<PersonTable[]> {
  const cols = await ch.rows<{ table: string; name: string }>(
    `SELECT table, name FROM system.columns
     WHERE database = currentDatabase()
       AND table IN (SELECT name FROM system.tables WHERE database = currentDatabase() AND engine NOT LIKE '%View')
     ORDER BY table, position`,
  );
  const byTable = new Map<string, PersonTable>();
  for (const c of cols) {
    const kind = personColumnKind(c.name);
    if (!kind) continue;
    let t = byTable.get(c.table);
    if (!t) byTable.set(c.table, (t = { table: c.table, columns: [] }));
    t.columns.push({ name: c.name, kind });
  }
  return [...byTable.values()];
}

/** The customer id plus every id connected to it by an active merge, in either direction. */
async function mergedIds(ch: ClickHouse, id: string): Promise<string[]> {
  if (!(await existingTables(ch)).has('customer_merges')) return [id];
  const merges = await ch.rows<{ a: string; b: string }>(
    `SELECT argMax(from_customer_id, updated_at) AS a, argMax(into_customer_id, updated_at) AS b
     FROM customer_merges GROUP BY merge_id HAVING argMax(undone, updated_at) = 0`,
  );
  const ids = new Set([id]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const m of merges) {
      if (!m.a || !m.b) continue;
      if (ids.has(m.a) !== ids.has(m.b)) {
        ids.add(m.a);
        ids.add(m.b);
        grew = true;
      }
    }
  }
  return [...ids];
}

const nonEmpty = (xs: Iterable<string>) => [...new Set(xs)].filter((x) => x !== '');

export async function personIds(ch: ClickHouse, id: string, tables: PersonTable[]): Promise<PersonIds> {
  const customers = nonEmpty(await mergedIds(ch, id));
  // Anonymous ids seen together with the customer id in any table (identities, events, order_items, carts, ...).
  const sources = tables.filter((t) => t.columns.some((c) => c.kind === 'anonymous') && t.columns.some((c) => c.kind === 'customer'));
  const anonymous = new Set<string>();
  if (sources.length) {
    const params: Record<string, unknown> = { c: customers };
    const parts = sources.map((t, i) => {
      params[`t${i}`] = t.table;
      const cond = t.columns.filter((c) => c.kind === 'customer').map((c, j) => {
        params[`t${i}c${j}`] = c.name;
        return `{t${i}c${j}:Identifier} IN {c:Array(String)}`;
      });
      return `SELECT DISTINCT toString(anonymous_id) AS a FROM {t${i}:Identifier} WHERE ${cond.join(' OR ')}`;
    });
    for (const r of await ch.rows<{ a: string }>(parts.join('\nUNION DISTINCT\n'), params)) anonymous.add(r.a);
  }
  return { customers, anonymous: nonEmpty(anonymous) };
}

interface Target {
  table: string;
  where: string;
  params: Record<string, unknown>;
}

const NEEDLES_PER_CALL = 200; // multiSearchAny takes at most 255 needles

function targets(tables: PersonTable[], ids: PersonIds, existing: Set<string>): Target[] {
  const out: Target[] = [];
  const everyone = [...ids.customers, ...ids.anonymous];
  for (const t of tables) {
    const params: Record<string, unknown> = { c: ids.customers, a: ids.anonymous, p: everyone, tbl: t.table };
    const cond = t.columns.map((c, j) => {
      params[`col${j}`] = c.name;
      return `{col${j}:Identifier} IN {${c.kind === 'customer' ? 'c' : c.kind === 'anonymous' ? 'a' : 'p'}:Array(String)}`;
    });
    out.push({ table: t.table, where: cond.join(' OR '), params });
  }
  if (existing.has('events_rejected')) {
    // Rejected events keep the raw JSON; the ids appear in it as "customer_id":"…" / "anonymous_id":"…".
    const needles = [
      ...ids.customers.map((c) => `"customer_id":${JSON.stringify(c)}`),
      ...ids.anonymous.map((a) => `"anonymous_id":${JSON.stringify(a)}`),
    ];
    const params: Record<string, unknown> = { tbl: 'events_rejected' };
    const calls: string[] = [];
    for (let i = 0; i < needles.length; i += NEEDLES_PER_CALL) {
      params[`n${calls.length}`] = needles.slice(i, i + NEEDLES_PER_CALL);
      calls.push(`multiSearchAny(raw, {n${calls.length}:Array(String)})`);
    }
    if (calls.length) out.push({ table: 'events_rejected', where: calls.join(' OR '), params });
  }
  return out;
}

async function countRows(ch: ClickHouse, ts: Target[]): Promise<Record<string, number>> {
  if (ts.length === 0) return {};
  // One query for every table: params of each part renamed apart.
  const params: Record<string, unknown> = {};
  const parts = ts.map((t, i) => {
    let where = t.where;
    for (const [k, v] of Object.entries(t.params)) {
      params[`q${i}_${k}`] = v;
      where = where.replaceAll(`{${k}:`, `{q${i}_${k}:`);
    }
    return `SELECT {q${i}_tbl:String} AS t, count() AS n FROM {q${i}_tbl:Identifier} WHERE ${where}`;
  });
  const rows = await ch.rows<{ t: string; n: string }>(parts.join('\nUNION ALL\n'), params);
  return Object.fromEntries(rows.map((r) => [r.t, Number(r.n)]));
}

async function deleteRows(ch: ClickHouse, t: Target): Promise<void> {
  try {
    // Lightweight delete: rows are masked at once and dropped at the next merge.
    await ch.exec(`DELETE FROM {tbl:Identifier} WHERE ${t.where}`, t.params);
  } catch {
    // Engines or tables (projections) without lightweight delete: a synchronous mutation.
    await ch.exec(`ALTER TABLE {tbl:Identifier} DELETE WHERE ${t.where} SETTINGS mutations_sync = 2`, t.params);
  }
}

export function hashedId(id: string): string {
  return `sha256:${crypto.createHash('sha256').update(id).digest('hex')}`;
}

export interface ErasureResult {
  customer_id: string;
  ids: PersonIds;
  /** Rows erased per table. */
  erased: Record<string, number>;
  /** Rows still matching after the deletes (all zero when the erasure is complete). */
  remaining: Record<string, number>;
  caches: string[];
}

export async function eraseCustomer(deps: AppDeps, id: string): Promise<ErasureResult> {
  const { ch } = deps;
  const tables = await personTables(ch);
  const ids = await personIds(ch, id, tables);
  const ts = targets(tables, ids, await existingTables(ch, true));
  const before = await countRows(ch, ts);
  for (const t of ts) if ((before[t.table] ?? 0) > 0) await deleteRows(ch, t);
  const after = await countRows(ch, ts);
  const caches: string[] = [];
  for (const [name, svc] of deps.services) {
    const s = svc as { forget?: (id: string) => unknown } | null;
    if (s && typeof s.forget === 'function') {
      for (const x of [...ids.customers, ...ids.anonymous]) await s.forget(x);
      caches.push(name);
    }
  }
  // A recommendation store without forget() is rebuilt from the tables just cleaned.
  const recs = deps.services.get('recs') as { forget?: unknown; load?: (ch: ClickHouse) => Promise<unknown> } | undefined;
  if (recs && typeof recs.forget !== 'function' && typeof recs.load === 'function') {
    await recs.load(ch);
    caches.push('recs (reloaded)');
  }
  const erased = Object.fromEntries(Object.entries(before).filter(([, n]) => n > 0));
  const remaining = Object.fromEntries(Object.entries(after).filter(([, n]) => n > 0));
  return { customer_id: id, ids, erased, remaining, caches };
}

export const EXPORT_ROWS_PER_TABLE = 100_000;

/** Everything held about the person, per table, PII decrypted (the data subject is entitled to it). */
export async function exportCustomer(deps: AppDeps, id: string, pii: PiiCipher): Promise<{ customer_id: string; ids: PersonIds; tables: Record<string, unknown[]> } | null> {
  const { ch } = deps;
  const tables = await personTables(ch);
  const ids = await personIds(ch, id, tables);
  const ts = targets(tables, ids, await existingTables(ch));
  const out: Record<string, unknown[]> = {};
  for (const t of ts) {
    const rows = await ch.rows<Record<string, unknown>>(`SELECT * FROM {tbl:Identifier} WHERE ${t.where} LIMIT {lim:UInt32}`, { ...t.params, lim: EXPORT_ROWS_PER_TABLE });
    if (!rows.length) continue;
    if (t.table === 'customers') {
      for (const r of rows) {
        try {
          r.traits = pii.revealTraits(JSON.parse(String(r.traits || '{}')) as Record<string, unknown>).traits;
        } catch {
          /* keep the stored text */
        }
      }
    }
    out[t.table] = rows;
  }
  if (Object.keys(out).length === 0) return null;
  return { customer_id: id, ids, tables: out };
}
