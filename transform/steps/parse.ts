// Step 1, log records only: the record's text → the collector's record. Not JSON, or not a record the
// collector wrote, is a dead letter on the field 'record'.
import type { CollectedRecord } from '../../ingest/contract.ts';
import { dlq, ok, type PipelineResult } from '../pipeline-result.ts';

// JSON may carry lone UTF-16 surrogates ("\ud800"); ClickHouse rejects them as invalid UTF-8 and the
// whole insert would fail forever. Only records that contain one pay for the reviver.
const LONE_SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;
const wellFormed = (_k: string, v: unknown) => (typeof v === 'string' ? v.toWellFormed() : v);

export const RECORD_FIELD = 'record';

export function parseRecord(text: string): PipelineResult<CollectedRecord> {
  let parsed: unknown;
  try {
    parsed = LONE_SURROGATE_ESCAPE.test(text) ? JSON.parse(text, wellFormed) : JSON.parse(text);
  } catch (err) {
    return malformed((err as Error).message);
  }
  if (!isCollectedRecord(parsed)) return malformed('not a collector record');
  return ok(parsed);
}

const malformed = (why: string) => dlq(`malformed log record: ${why}`.slice(0, 500), RECORD_FIELD);

function isCollectedRecord(v: unknown): v is CollectedRecord {
  if (!v || typeof v !== 'object') return false;
  const r = v as { received_at?: unknown; site?: unknown };
  return typeof r.received_at === 'number' && typeof r.site === 'string';
}
