// One collector record → its rows, or the problem with it: the record steps without the batch state
// (no dedupe, no server sessions, no log position unless given). For tests, the bench's ceiling rows,
// and anything that wants to know what the transformer would make of one record.
import type { CollectedRecord, EventProblem } from '../ingest/contract.ts';
import { rawEventId } from './dead-letter.ts';
import { StepChain, type DeadLetter, type Drop } from './pipeline-result.ts';
import { identityStep, type IdentityContext } from './steps/identity.ts';
import { toRows } from './steps/rows.ts';
import { standardiseStep, type StandardiseContext as FieldsContext } from './steps/standardise.ts';
import { validate } from './steps/validate.ts';
import type { CustomerRow, EventRow, IdentityRow, LogPosition, OrderItemRow } from './table-rows.ts';

export { TEXT_CAP, normaliseCategory, normaliseId } from './fields/text.ts';
export { correctedTime, timeMs } from './fields/time.ts';
export { splitUrl } from './fields/url.ts';
export type { CustomerRow, EventRow, IdentityRow, LogPosition, OrderItemRow } from './table-rows.ts';

export type StandardiseContext = FieldsContext & Omit<IdentityContext, 'learnCountry'>;

export type StandardiseResult =
  | { ok: true; event: EventRow; tsMs: number; items: OrderItemRow[]; identity: IdentityRow | null; customer: CustomerRow | null }
  | { ok: false; problem: EventProblem; eventId: string; site: string; receivedAt: number };

const NO_POSITION: LogPosition = { log_topic: '', log_partition: 0, log_offset: 0 };

export function standardise(rec: CollectedRecord, ctx: StandardiseContext, at: LogPosition = NO_POSITION): StandardiseResult {
  const valid = validate({ record: rec, at });
  if (valid.kind !== 'ok') return refused(rec, valid);
  const rows = StepChain.from(standardiseStep(ctx)).pipe(identityStep(ctx)).pipe(toRows).run(valid.value);
  if (rows.kind !== 'ok') return refused(rec, rows);
  const { event, items, identity, customer } = rows.value;
  return { ok: true, event, tsMs: valid.value.tsMs, items, identity, customer };
}

function refused(rec: CollectedRecord, r: DeadLetter | Drop): StandardiseResult {
  return {
    ok: false,
    problem: { field: r.kind === 'dlq' ? r.field : '', reason: r.reason },
    eventId: rawEventId(rec.event),
    site: typeof rec.site === 'string' ? rec.site : '',
    receivedAt: typeof rec.received_at === 'number' ? rec.received_at : Date.now(),
  };
}
