// The dead letter for operators: list rejects, and replay them after a fix (a rate imported, a contract
// widened). A replay appends the raw event to the event log again as a record with source 'replay', so the
// normal transformer path handles it; it lands in events, or as a new reject if it is still invalid. The
// old reject row is then marked replayed (events_rejected is a ReplacingMergeTree(replayed)).
//
// PII at rest: the raw payload of a dead letter keeps the event as sent, identify traits included. Rows
// reach events_rejected only through sealDeadLetters, which encrypts the PII traits in `raw` (the ids stay
// searchable, so erasure still finds the rows); a replay opens them again before the event re-enters the log.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { ClickHouse } from '../lib/clickhouse.ts';
import { ensureEncryptionKey, isPiiField, type PiiCipher } from '../lib/crypto.ts';
import { SealedEventLog } from '../lib/eventlog/sealed.ts';
import { SubjectKeys } from '../lib/subject-keys.ts';
import type { Config } from '../lib/config.ts';
import { sql } from '../lib/sql.ts';
import type { EventLog, LogRecord } from '../lib/eventlog/types.ts';
import { partitionKey, type CollectedRecord } from '../ingest/contract.ts';
import { recordAudit, type Actor } from '../lib/audit.ts';

export const REPLAY_MAX = 10_000;

type Traits = Record<string, unknown>;

/** The traits object of a raw payload: the event's own, or (a malformed log record) its event's. */
function traitsHolder(v: unknown): { traits: Traits } | null {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const o = v as { traits?: unknown; event?: unknown };
  if (o.traits && typeof o.traits === 'object' && !Array.isArray(o.traits)) return o as { traits: Traits };
  return o.event !== undefined ? traitsHolder(o.event) : null;
}

/**
 * A dead letter's raw payload with its PII traits encrypted. A payload that names traits but is not JSON
 * (cut at 64 KiB, or broken) is encrypted whole: nothing readable is kept, at the price of erasure not
 * finding it by id.
 */
export function protectRaw(raw: string, pii: PiiCipher): string {
  if (!raw.includes('"traits"')) return raw;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return pii.encrypt(raw);
  }
  const holder = traitsHolder(v);
  if (!holder) return raw;
  holder.traits = pii.protectTraits(holder.traits);
  return JSON.stringify(v);
}

/** The opposite, for a replay: the event goes back to the log as it was sent. */
export function revealRaw(raw: string, pii: PiiCipher): string {
  const opened = raw.startsWith('enc:v1:') ? String(pii.decrypt(raw)) : raw;
  if (!opened.includes('"traits"')) return opened;
  try {
    const v: unknown = JSON.parse(opened);
    const holder = traitsHolder(v);
    if (!holder || !Object.keys(holder.traits).some(isPiiField)) return opened;
    holder.traits = pii.revealTraits(holder.traits).traits;
    return JSON.stringify(v);
  } catch {
    return opened;
  }
}

/**
 * The ClickHouse handle the transformer writes with: inserts into events_rejected have their raw payloads
 * protected (both ways rows are written: the client insert, and the file the embedded writer inserts from).
 */
export function sealDeadLetters(ch: ClickHouse, pii: PiiCipher): ClickHouse {
  const protectRows = (rows: readonly object[]) => rows.map((r) => {
    const raw = (r as { raw?: unknown }).raw;
    return typeof raw === 'string' ? { ...r, raw: protectRaw(raw, pii) } : r;
  });
  return new Proxy(ch, {
    get(target, prop, receiver) {
      if (prop === 'insert') {
        return (table: string, values: readonly object[], settings?: Record<string, unknown>) =>
          target.insert(table, table === 'events_rejected' ? protectRows(values) : values, settings);
      }
      if (prop === 'exec') {
        return async (query: string, params?: Record<string, unknown>, settings?: Record<string, unknown>) => {
          // The embedded row writer: INSERT INTO {table} … FROM file({file}) with the rows as a JSON array.
          if (params?.table === 'events_rejected' && typeof params.file === 'string') {
            const rows = JSON.parse(fs.readFileSync(params.file, 'utf8')) as object[];
            fs.writeFileSync(params.file, JSON.stringify(protectRows(rows)));
          }
          return target.exec(query, params, settings);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

export interface RejectListRow {
  reject_id: string; received_at: string; rejected_at: string; source: string; site: string; event_id: string; field: string;
  reason: string; raw: string; replayed: number;
}

export class RejectsRequestError extends Error {
  constructor(message: string, readonly field: string) {
    super(message);
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function listRejects(ch: ClickHouse, opts: { reason?: string; limit?: number; all?: boolean }): Promise<{ rejects: RejectListRow[]; matching: number }> {
  const rows = await ch.rows<RejectListRow & { matching: string }>(sql('transform/rejects-list'), {
    reason: opts.reason ?? '',
    all: opts.all ? 1 : 0,
    limit: Math.max(1, Math.min(opts.limit ?? 50, 10_000)),
  });
  const matching = Number(rows[0]?.matching ?? 0);
  return { rejects: rows.map(({ matching: _m, ...r }) => ({ ...r, replayed: Number(r.replayed) })), matching };
}

export async function rejectsByReason(ch: ClickHouse): Promise<Array<{ reason: string; total: number; last_24h: number; pending: number }>> {
  const rows = await ch.rows<{ reason: string; total: string; last_24h: string; pending: string }>(sql('transform/rejects-by-reason'));
  return rows.map((r) => ({ reason: r.reason, total: Number(r.total), last_24h: Number(r.last_24h), pending: Number(r.pending) }));
}

interface ReplayRow {
  reject_id: string; received_at: string; rejected_at: string; source: string; site: string; event_id: string; field: string; reason: string;
  raw: string; user_agent: string; log_topic: string; log_partition: number; log_offset: string; received_ms: string;
}

/** The event to send again: the raw payload, or for a malformed log record, the event inside it if any. */
function replayRecord(row: ReplayRow): CollectedRecord {
  let event: unknown;
  try {
    event = JSON.parse(row.raw);
  } catch {
    event = row.raw; // still not JSON: it comes back as a reject, which says so
  }
  let site = row.site;
  let receivedAt = Number(row.received_ms);
  let userAgent = row.user_agent;
  if (row.field === 'record' && event && typeof event === 'object' && 'event' in event) {
    const rec = event as Partial<CollectedRecord>;
    event = rec.event;
    if (typeof rec.site === 'string') site = rec.site;
    if (typeof rec.received_at === 'number') receivedAt = rec.received_at;
    if (typeof rec.user_agent === 'string') userAgent = rec.user_agent;
  }
  // The original receive time: skew correction and the future-time check judge the event as it arrived.
  return { v: 1, site, received_at: receivedAt, source: 'replay', ...(userAgent ? { user_agent: userAgent } : {}), event };
}

export async function replayRejects(
  deps: { ch: ClickHouse; config: Config; eventLog: EventLog },
  opts: { reason?: string; ids?: string[]; actor: Actor },
): Promise<{ replayed: number; reject_ids: string[] }> {
  const ids = opts.ids ?? [];
  const reason = opts.reason?.trim() ?? '';
  if (!ids.length && !reason) throw new RejectsRequestError('name the rejects to replay: a reason or reject ids', 'reason');
  const bad = ids.find((id) => !UUID_RE.test(id));
  if (bad !== undefined) throw new RejectsRequestError(`reject id '${bad}' is not a UUID`, 'ids');
  const rows = await deps.ch.rows<ReplayRow>(sql('transform/rejects-for-replay'), { ids: ids.map((i) => i.toLowerCase()), reason, limit: REPLAY_MAX });
  if (!rows.length) return { replayed: 0, reject_ids: [] };
  // The keys of this store: traits opened for the replay, and the records sealed even where the caller's
  // log is a plain one (the command line's).
  const keys = await SubjectKeys.open(deps.ch, ensureEncryptionKey(deps.config).key);
  const pii = keys.piiCipher();
  const log = deps.eventLog instanceof SealedEventLog ? deps.eventLog : new SealedEventLog(deps.eventLog, keys);
  const records: LogRecord[] = rows.map((r) => {
    const rec = replayRecord({ ...r, raw: revealRaw(r.raw, pii) });
    const ev = (rec.event && typeof rec.event === 'object' ? rec.event : {}) as { customer_id?: unknown; anonymous_id?: unknown };
    return { key: partitionKey(ev), value: JSON.stringify(rec) };
  });
  // Log first, then mark: a crash in between leaves rows that can be replayed again, and the
  // transformer's event-id dedup keeps a second copy out of events.
  await log.append(deps.config.topics.events, records);
  // NOTE: written back from here rather than by INSERT ... SELECT: recent ClickHouse deduplicates an
  // INSERT ... SELECT against the source part's insert token, which silently drops the copy.
  await deps.ch.insert(
    'events_rejected',
    rows.map(({ received_ms: _ms, ...r }) => ({ ...r, replayed: 1 })),
    { insert_deduplication_token: `replay:${crypto.randomUUID()}` },
  );
  const replayedIds = rows.map((r) => r.reject_id);
  await recordAudit(deps.ch, opts.actor, 'rejects.replay', reason || `${ids.length} ids`, { reason, ids: ids.slice(0, 100), replayed: rows.length });
  return { replayed: rows.length, reject_ids: replayedIds };
}
