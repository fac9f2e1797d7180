// Inputs for the step tests, built the way the steps before them hand them over (validate, standardise).
import type { CollectedRecord } from '../ingest/contract.ts';
import { FxTable } from '../transform/fx.ts';
import { standardiseStep, type StandardEvent } from '../transform/steps/standardise.ts';
import { validate } from '../transform/steps/validate.ts';
import type { LogPosition } from '../transform/table-rows.ts';

export const RECEIVED = Date.parse('2024-03-02T12:00:00.000Z');
const fx = FxTable.fromRows([{ day: '2024-03-01', currency: 'EUR', base: 'USD', rate: 1.08 }]);
const standardise = standardiseStep({ fx, baseCurrency: 'USD' });

let n = 0;
/** A contract-valid event (a fresh id unless given), recorded at `offset` of topic 'events'. */
export function collected(event: Record<string, unknown>, extra: Partial<CollectedRecord> = {}): CollectedRecord {
  const id = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  return { v: 1, site: 'shop', received_at: RECEIVED, source: 'browser', event: { event_id: id, type: 'page_view', ts: '2024-03-01T10:00:00.000Z', anonymous_id: 'a1', ...event }, ...extra };
}

export const position = (offset: number): LogPosition => ({ log_topic: 'events', log_partition: 0, log_offset: offset });

export function standardEvent(event: Record<string, unknown>, extra: Partial<CollectedRecord> = {}, offset = 0): StandardEvent {
  const v = validate({ record: collected(event, extra), at: position(offset) });
  if (v.kind !== 'ok') throw new Error(`fixture is not valid: ${v.reason}`);
  const s = standardise(v.value);
  if (s.kind !== 'ok') throw new Error(`fixture does not standardise: ${s.reason}`);
  return s.value;
}
