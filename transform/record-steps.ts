// The transformer's steps for one record, in order: validate → standardise (currency, country, device,
// URL) → [already stored?] → dedupe → sessionise → identity → rows. The log consumer parses first and
// feeds each record here; `cvm import transactions` feeds its records here directly.
import { drop, ok, StepChain, type PipelineResult } from './pipeline-result.ts';
import type { Sessioniser } from './sessionise.ts';
import { dedupeStep, type DedupeState } from './steps/dedupe.ts';
import { identityStep, type IdentityContext } from './steps/identity.ts';
import { toRows, type EventRows } from './steps/rows.ts';
import { sessioniseStep } from './steps/sessionise.ts';
import { standardiseStep, type StandardEvent, type StandardiseContext } from './steps/standardise.ts';
import { validate, type Incoming } from './steps/validate.ts';
import type { LogPosition } from './table-rows.ts';

export const ALREADY_STORED = 'already stored';

export interface RecordStepsDeps {
  ctx: StandardiseContext & IdentityContext;
  dedupe: DedupeState;
  sessions: Sessioniser;
  /** Records whose event a previous attempt already stored (by position): they skip dedupe and sessions. */
  storedAt?: (at: LogPosition) => boolean;
}

export function recordSteps(deps: RecordStepsDeps): (input: Incoming) => PipelineResult<EventRows> {
  const { storedAt } = deps;
  const notStored = (s: StandardEvent): PipelineResult<StandardEvent> => (storedAt && storedAt(s.at) ? drop(ALREADY_STORED) : ok(s));
  return StepChain.from(validate)
    .pipe(standardiseStep(deps.ctx))
    .pipe(notStored)
    .pipe(dedupeStep(deps.dedupe))
    .pipe(sessioniseStep(deps.sessions))
    .pipe(identityStep(deps.ctx))
    .pipe(toRows).run;
}
