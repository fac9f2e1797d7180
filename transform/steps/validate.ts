// Step 2: the event against its contract (ingest/contract.ts), and its time. A record the collector
// already refused (it carries `reject`) stays refused with the collector's field and reason.
import { validateEvent, type CollectedRecord, type CvmEvent } from '../../ingest/contract.ts';
import { eventTime } from '../fields/time.ts';
import { dlq, ok, type PipelineResult } from '../pipeline-result.ts';
import type { LogPosition } from '../table-rows.ts';

/** What enters the steps: a collector record and where it sits in the log (or the import file). */
export interface Incoming { record: CollectedRecord; at: LogPosition }

export interface ValidEvent extends Incoming {
  event: CvmEvent;
  /** Skew-corrected event time, never later than the receive time. */
  tsMs: number;
}

export function validate(input: Incoming): PipelineResult<ValidEvent> {
  const rec = input.record;
  if (rec.reject) return dlq(rec.reject.reason, rec.reject.field);
  const checked = validateEvent(rec.event, { now: rec.received_at });
  if (!checked.ok) return dlq(checked.problem.reason, checked.problem.field);
  return ok({ record: rec, at: input.at, event: checked.event, tsMs: eventTime(checked.event, rec.received_at) });
}
