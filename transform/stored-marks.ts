// High-water marks: the highest log offset of one topic/partition already stored, per table (-1: none).
// Records at or below them are not written again when the log hands a batch over a second time.
import type { ClickHouse } from '../lib/clickhouse.ts';
import { sql } from '../lib/sql.ts';

export interface Marks {
  events: number;
  rejects: number;
  items: number;
  /** The offset the next batch is expected to start at (a different one means a rewind). */
  next: number;
}

export async function loadMarks(ch: ClickHouse, topic: string, partition: number, next: number): Promise<Marks> {
  const [row] = await ch.rows<{ ev: string; rj: string; it: string }>(sql('transform/watermarks'), { t: topic, p: partition });
  return { events: Number(row?.ev ?? -1), rejects: Number(row?.rj ?? -1), items: Number(row?.it ?? -1), next };
}
