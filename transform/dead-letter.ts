// The one place a step's dead letter becomes an events_rejected row: the reason and field from the
// step, the raw payload and its origin from the record (or the log's text, when it was no record at all).
import { sha1Uuid } from '../lib/ids.ts';
import { chTime } from '../lib/clickhouse.ts';
import type { CollectedRecord } from '../ingest/contract.ts';
import type { DeadLetter } from './pipeline-result.ts';
import type { LogPosition, RejectRow } from './table-rows.ts';

const RAW_CAP = 65_536;

/** What the dead letter keeps as raw: the parsed record, or the text of one that did not parse. */
export type RejectSource = { record: CollectedRecord } | { text: string; loggedAt: number };

/** Deterministic id for a dead-letter row, so a re-delivered reject folds into the same row. */
export function rejectId(topic: string, partition: number, offset: number): string {
  return sha1Uuid(`${topic}/${partition}/${offset}`);
}

/** The event id as sent, if it is a string at all (validation may have refused its form). */
export function rawEventId(event: unknown): string {
  const id = (event as { event_id?: unknown } | null)?.event_id;
  return typeof id === 'string' ? id.slice(0, 64) : '';
}

export function deadLetterRow(letter: DeadLetter, at: LogPosition, from: RejectSource): RejectRow {
  const where = { reject_id: rejectId(at.log_topic, at.log_partition, at.log_offset), log_topic: at.log_topic, log_partition: at.log_partition, log_offset: at.log_offset };
  const why = { field: letter.field, reason: letter.reason };
  if ('text' in from) {
    return { ...where, ...why, received_at: chTime(from.loggedAt), source: 'log', site: '', event_id: '', raw: from.text.slice(0, RAW_CAP), user_agent: '' };
  }
  const rec = from.record;
  return {
    ...where,
    ...why,
    received_at: chTime(typeof rec.received_at === 'number' ? rec.received_at : Date.now()),
    source: rec.source ?? 'collector',
    site: typeof rec.site === 'string' ? rec.site : '',
    event_id: rawEventId(rec.event),
    raw: JSON.stringify(rec.event ?? null).slice(0, RAW_CAP),
    user_agent: typeof rec.user_agent === 'string' ? rec.user_agent.slice(0, 1024) : '',
  };
}
