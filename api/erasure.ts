// Right to erasure and right of access. A person is their customer id, every id merged with it, and every
// anonymous id linked to any of those. Tables are found in the catalogue, not listed here: every table
// with a person column (customer_id, *_customer_id, anonymous_id, actor_id) is covered, so a table that
// another module adds later is erased too. The dead-letter table keeps raw payloads, which are searched
// for the ids.
//
// Erasure must leave nothing recoverable where data rests, so:
//  - holders of live state (the shop: account, sessions, carts, order book; the transformer's caches) are
//    called first, so none writes the person back while the rows go; caches reload after the tables. The
//    list is deps.services.erasure, built by bin/services.ts from a plan that names every service;
//  - orders are anonymised (a pseudonym per erasure), not deleted: the shop's revenue stays right;
//  - rows go by synchronous mutations whose predicate names a Memory table, not the ids, and the outdated
//    parts are cleared from disk at once (lib/ch-purge.ts);
//  - the event log: the person's data keys are destroyed (every copy of their records, in the embedded log's
//    freed pages or on Kafka, is ciphertext under a key that no longer exists), and on the embedded log the
//    records are removed too.
import crypto from 'node:crypto';
import type { ClickHouse } from '../lib/clickhouse.ts';
import type { PiiCipher } from '../lib/crypto.ts';
import { deleteRowsWhereIn, purgeOutdatedParts, updateRowsWhereIn } from '../lib/ch-purge.ts';
import { SealedEventLog } from '../lib/eventlog/sealed.ts';
import type { ApiDeps } from './services.ts';
import { existingTables } from './tables.ts';

/** Who is being erased, as every holder needs it: their ids, and the pseudonym their orders now carry. */
export interface ErasureSubject {
  customers: string[];
  anonymous: string[];
  pseudonym: string;
}

/** Anything holding a person's data outside the tables (memory, a session store). */
export interface ErasureHolder {
  forget(subject: ErasureSubject): Promise<void>;
  /** Whether it still holds any of the subject's ids (the erasure test asks every holder after an erasure). */
  holds(subject: ErasureSubject): boolean | Promise<boolean>;
}

/**
 * One holder in the erasure's order: live state 'before-tables' (so nothing is written back while the rows
 * go), caches 'after-tables' (a reload then reads the cleaned tables).
 */
export interface ErasureStep {
  name: string;
  when: 'before-tables' | 'after-tables';
  holder: ErasureHolder;
}

/** Orders stay (the shop's totals), without the person: these columns get the pseudonym or are emptied. */
const ANONYMISE: Record<string, Record<string, 'pseudonym' | 'empty'>> = {
  orders: { customer_id: 'pseudonym', anonymous_id: 'empty' },
  // event_id emptied too: the shop's reconcile would otherwise re-send the (erased) purchase events.
  order_events: { customer_id: 'pseudonym', anonymous_id: 'empty', reason: 'empty', event_id: 'empty' },
  order_items: { customer_id: 'pseudonym', anonymous_id: 'empty' },
};

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

export function hashedId(id: string): string {
  return `sha256:${crypto.createHash('sha256').update(id).digest('hex')}`;
}

export interface ErasureResult {
  customer_id: string;
  ids: PersonIds;
  /** Rows erased (deleted or anonymised) per table. */
  erased: Record<string, number>;
  /** Rows still matching after the deletes (all zero when the erasure is complete). */
  remaining: Record<string, number>;
  /** Tables whose delete or update failed, with the error (empty when every statement ran). */
  errors: Record<string, string>;
  caches: string[];
  /** Records removed from the embedded event log (their keys are destroyed in every mode). */
  log_records: number;
}

async function rejectIds(ch: ClickHouse, t: Target): Promise<string[]> {
  const rows = await ch.rows<{ id: string }>(`SELECT toString(reject_id) AS id FROM {tbl:Identifier} WHERE ${t.where}`, t.params);
  return rows.map((r) => r.id);
}

/**
 * Anonymises or deletes the person's rows table by table. A table that fails does not stop the others:
 * every failure is kept (table → message) and reported, so one stuck table never hides the rest.
 */
async function eraseRows(ch: ClickHouse, tables: PersonTable[], ts: Target[], ids: PersonIds, pseudonym: string, counts: Record<string, number>, errors: Record<string, string>): Promise<void> {
  const everyone = [...ids.customers, ...ids.anonymous];
  const attempt = async (table: string, work: () => Promise<unknown>) => {
    try {
      await work();
    } catch (err) {
      errors[table] = err instanceof Error ? err.message : String(err);
    }
  };
  for (const t of tables) {
    if ((counts[t.table] ?? 0) === 0) continue;
    const cols = t.columns.map((c) => c.name);
    const anon = ANONYMISE[t.table];
    if (anon) {
      const set = Object.fromEntries(Object.entries(anon).map(([col, how]) => [col, how === 'pseudonym' ? pseudonym : '']));
      await attempt(t.table, () => updateRowsWhereIn(ch, t.table, cols, everyone, set));
      continue;
    }
    await attempt(t.table, () => deleteRowsWhereIn(ch, t.table, cols, everyone));
  }
  // The order history's actor names the customer as `customer:<id>`.
  if (tables.some((t) => t.table === 'order_events')) {
    await attempt('order_events (actor)', () => updateRowsWhereIn(ch, 'order_events', ['actor'], ids.customers.map((c) => `customer:${c}`), { actor: 'customer:erased' }));
  }
  const rejects = ts.find((t) => t.table === 'events_rejected');
  if (rejects && (counts.events_rejected ?? 0) > 0) await attempt('events_rejected', async () => deleteRowsWhereIn(ch, 'events_rejected', ['reject_id'], await rejectIds(ch, rejects)));
}

export async function eraseCustomer(deps: ApiDeps, id: string): Promise<ErasureResult> {
  const { ch } = deps;
  const tables = await personTables(ch);
  const ids = await personIds(ch, id, tables);
  const subject: ErasureSubject = { ...ids, pseudonym: `erased:${crypto.randomBytes(8).toString('hex')}` };
  const everyone = [...ids.customers, ...ids.anonymous];
  const caches: string[] = [];

  // 1. Live holders first (the shop blocks the account and flushes pending writes).
  const steps = deps.services.erasure;
  for (const step of steps.filter((s) => s.when === 'before-tables')) {
    await step.holder.forget(subject);
    caches.push(step.name);
  }

  // 2. The event log: keys destroyed first, so no batch opens the person's records from here on.
  let logRecords = 0;
  const keys = deps.services.subjectKeys;
  if (deps.eventLog instanceof SealedEventLog) logRecords = await deps.eventLog.forget([deps.config.topics.events, deps.config.topics.bulk], everyone);
  else if (keys) await keys.destroy(everyone.map((x) => keys.pseudonym(x)));

  // 3. Tables: anonymise orders, delete the rest, clear the old parts. A batch the transformer opened just
  // before the keys went may land meanwhile: one more pass catches it.
  const ts = targets(tables, ids, await existingTables(ch, true));
  const before = await countRows(ch, ts);
  let errors: Record<string, string> = {};
  await eraseRows(ch, tables, ts, ids, subject.pseudonym, before, errors);
  let after = await countRows(ch, ts);
  if (Object.values(after).some((n) => n > 0)) {
    errors = {}; // the second pass's failures are the ones that stand
    await eraseRows(ch, tables, ts, ids, subject.pseudonym, after, errors);
    after = await countRows(ch, ts);
  }

  // Old parts from earlier merges or mutations may hold the person even where no active row does.
  for (const table of new Set([...tables.map((t) => t.table), ...ts.map((t) => t.table), 'subject_keys'])) {
    if (!(await existingTables(ch)).has(table)) continue;
    const left = await purgeOutdatedParts(ch, table).catch((err: unknown) => {
      errors[`${table} (outdated parts)`] = err instanceof Error ? err.message : String(err);
      return 0;
    });
    if (left > 0) after[`${table} (outdated parts)`] = left;
  }

  // 4. Caches after the tables (a reload now reads the cleaned tables).
  for (const step of steps.filter((s) => s.when === 'after-tables')) {
    await step.holder.forget(subject);
    caches.push(step.name);
  }
  const erased = Object.fromEntries(Object.entries(before).filter(([, n]) => n > 0));
  const remaining = Object.fromEntries(Object.entries(after).filter(([, n]) => n > 0));
  return { customer_id: id, ids, erased, remaining, errors, caches, log_records: logRecords };
}

export const EXPORT_ROWS_PER_TABLE = 100_000;

/** Everything held about the person, per table, PII decrypted (the data subject is entitled to it). */
export async function exportCustomer(deps: ApiDeps, id: string, pii: PiiCipher): Promise<{ customer_id: string; ids: PersonIds; tables: Record<string, unknown[]> } | null> {
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
