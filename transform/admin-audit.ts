// Operator actions on pipeline data (replays, merges, rate imports) go to audit_log: who, what, when.
import type { ClickHouse } from '../lib/clickhouse.ts';
import { chTime } from '../lib/clickhouse.ts';

export interface Actor { id: string; role: string }

export const CLI_ACTOR: Actor = { id: 'cli', role: 'admin' };

export async function recordAudit(ch: ClickHouse, actor: Actor, action: string, target: string, detail: Record<string, unknown>): Promise<void> {
  await ch.insert('audit_log', [{ at: chTime(Date.now()), actor: actor.id, role: actor.role, action, target, detail: JSON.stringify(detail) }]);
}
