// audit_log rows: who (an API key id and its role, or the CLI) did what to which target, and when.
// The one writer for the API, the transformer's operator actions (replays, merges) and the CLI.
// Secrets never go in here.
import type { ClickHouse } from './clickhouse.ts';
import { chTime } from './clickhouse.ts';

export interface Actor {
  id: string;
  role: string;
}

export const CLI_ACTOR: Actor = { id: 'cli', role: 'admin' };

/** What cvm does on its own (scheduled pushes, key rotation at start-up). */
export const SYSTEM_ACTOR: Actor = { id: 'system', role: 'system' };

/** The actor for an API caller (its key id and role); the system when nobody called. */
export function actorOf(principal: { keyId: string; role: string } | undefined): Actor {
  return principal ? { id: principal.keyId, role: principal.role } : SYSTEM_ACTOR;
}

export async function recordAudit(ch: ClickHouse, actor: Actor, action: string, target: string, detail: Record<string, unknown> = {}): Promise<void> {
  await ch.insert('audit_log', [{ at: chTime(Date.now()), actor: actor.id, role: actor.role, action, target, detail: JSON.stringify(detail) }]);
}
