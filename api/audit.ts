// audit_log rows: who (key id and role) did what to which target. Secrets never go in here.
import type { ClickHouse } from '../lib/clickhouse.ts';
import { chTime } from '../lib/clickhouse.ts';
import type { Principal } from './auth.ts';

export async function audit(ch: ClickHouse, who: Principal | undefined, action: string, target: string, detail: Record<string, unknown> = {}): Promise<void> {
  await ch.insert('audit_log', [
    { at: chTime(Date.now()), actor: who?.keyId ?? 'system', role: who?.role ?? 'system', action, target, detail: JSON.stringify(detail) },
  ]);
}
