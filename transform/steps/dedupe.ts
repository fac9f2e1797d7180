// Step 4: an event id seen before is dropped, whether earlier in this batch or stored recently (a client
// retry that reached the log twice, a replay of something that got through after all).
import { drop, ok, type PipelineResult } from '../pipeline-result.ts';
import type { StandardEvent } from './standardise.ts';

export const DUPLICATE = 'duplicate';

export interface DedupeState {
  /** Ids passed in this batch so far; the step adds to it. */
  seen: Set<string>;
  /** Ids already stored. */
  stored: { has(id: string): boolean };
}

export function dedupeStep(state: DedupeState): <T extends StandardEvent>(input: T) => PipelineResult<T> {
  const { seen, stored } = state;
  return (input) => {
    const id = input.row.event_id;
    if (seen.has(id) || stored.has(id)) return drop(DUPLICATE);
    seen.add(id);
    return ok(input);
  };
}
