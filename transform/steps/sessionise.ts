// Step 5: the server-side session (transform/sessionise.ts) for events the client sent without one.
// Back-office events never start a visit: a refund days later or an imported order is not a session.
import { ok, type PipelineResult } from '../pipeline-result.ts';
import type { Sessioniser } from '../sessionise.ts';
import type { StandardEvent } from './standardise.ts';

const NON_VISIT_TYPES = new Set(['refund', 'identify', 'alias']);

export function sessioniseStep(sessions: Sessioniser): (input: StandardEvent) => PipelineResult<StandardEvent> {
  return (input) => {
    const row = input.row;
    row.session_id = sessions.assign({
      site: row.site,
      anonymousId: row.anonymous_id,
      customerId: row.customer_id,
      sessionId: row.session_id,
      tsMs: input.tsMs,
      opens: input.record.source !== 'import' && !NON_VISIT_TYPES.has(row.type),
    });
    return ok(input);
  };
}
