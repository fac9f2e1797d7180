// Which tables and views exist, cached briefly: features read optional tables of other modules (sessions,
// recommendation outputs) and must work before those migrations exist.
import type { ClickHouse } from '../lib/clickhouse.ts';

const TTL_MS = 30_000;
const cache = new WeakMap<ClickHouse, { at: number; names: Set<string> }>();

export async function existingTables(ch: ClickHouse, fresh = false): Promise<Set<string>> {
  const hit = cache.get(ch);
  if (hit && !fresh && Date.now() - hit.at < TTL_MS) return hit.names;
  const names = new Set((await ch.rows<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase()')).map((r) => r.name));
  cache.set(ch, { at: Date.now(), names });
  return names;
}
