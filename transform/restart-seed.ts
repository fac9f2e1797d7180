// After a restart the transformer remembers nothing: the newest stored events of a partition refill the
// recent event ids (dedupe) and the visitors' open sessions (sessionise).
import type { ClickHouse } from '../lib/clickhouse.ts';
import { sql } from '../lib/sql.ts';
import type { RecentIds } from './recent-ids.ts';
import type { Sessioniser } from './sessionise.ts';

export async function seedFromStored(
  ch: ClickHouse,
  at: { topic: string; partition: number; after: number },
  into: { recentIds: RecentIds; sessions: Sessioniser },
): Promise<number> {
  const rows = await ch.rows<{ event_id: string; site: string; anonymous_id: string; customer_id: string; session_id: string; ts_ms: string }>(
    sql('transform/recent-events'),
    { t: at.topic, p: at.partition, from: at.after },
  );
  for (const r of rows) {
    into.recentIds.remember(r.event_id);
    if (r.session_id) into.sessions.assign({ site: r.site, anonymousId: r.anonymous_id, customerId: r.customer_id, sessionId: r.session_id, tsMs: Number(r.ts_ms), opens: true });
  }
  return rows.length;
}
