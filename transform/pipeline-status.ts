// How the pipeline is doing, for operators and dashboards: log lag per partition, transformer
// throughput over the last minute, rejects by reason, and when events last reached ClickHouse; why batches
// are not getting stored (transformer.failing) and how full the log is (log_usage: back-pressure).
import type { ClickHouse } from '../lib/clickhouse.ts';
import type { Config } from '../lib/config.ts';
import { sql } from '../lib/sql.ts';
import { refusal, type EventLog, type LogUsage, type PartitionLag } from '../lib/eventlog/types.ts';
import { BULK_GROUP, TRANSFORM_GROUP, type EventsTransformer } from './events.consumer.ts';
import { rejectsByReason } from './rejects.ts';

export interface TopicLag { topic: string; group: string; total: number; partitions: PartitionLag[] }

export interface TransformerStatus {
  window_s: number;
  events_in_per_s: number;
  events_out_per_s: number;
  batches: number;
  events_in: number;
  events_out: number;
  rejected: number;
  duplicates_skipped: number;
  failed_batches: number;
  /** Set while batches fail and are retried: since when, how many attempts failed, the last error. */
  failing: { since: string; retries: number; last_error: string; last_error_at: string } | null;
}

export interface PipelineStatus {
  generated_at: string;
  /** Null where this process has no handle on the event log (an API-only process). */
  lag: TopicLag | null;
  /** The bulk topic's (the demo history's), drained beside live traffic by a consumer of its own. */
  bulk_lag: TopicLag | null;
  /** Why the lag could not be read (the log unreachable, e.g. a broker away); null when it was. */
  lag_error: string | null;
  /** Null where this process does not run the transformer. */
  transformer: TransformerStatus | null;
  /** The bulk topic's transformer, the same figures. */
  bulk_transformer: TransformerStatus | null;
  /** The live topic's room in the log; `refusing` when the collector answers 503 for it (near the limit, or backing off). */
  log_usage: {
    topic: string;
    used_bytes: number | null;
    limit_bytes: number | null;
    high_water_bytes: number | null;
    used_pct: number | null;
    refusing: boolean;
    append_failures: number;
    failing_since: string | null;
    last_error: string | null;
  } | null;
  last_insert_at: string | null;
  rejects: { total: number; last_24h: number; pending: number; by_reason: Array<{ reason: string; total: number; last_24h: number; pending: number }> };
}

const round = (n: number) => Math.round(n * 100) / 100;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function usageOf(topic: string, u: LogUsage): NonNullable<PipelineStatus['log_usage']> {
  return {
    topic,
    used_bytes: u.usedBytes,
    limit_bytes: u.limitBytes,
    high_water_bytes: u.highWaterBytes,
    used_pct: u.usedBytes !== null && u.limitBytes ? round((100 * u.usedBytes) / u.limitBytes) : null,
    refusing: refusal(u) !== null,
    append_failures: u.appendFailures,
    failing_since: iso(u.failingSince),
    last_error: u.lastError,
  };
}

function transformerStatus(t: EventsTransformer): TransformerStatus {
  return {
    window_s: 60,
    events_in_per_s: round(t.rateIn.perSecond()),
    events_out_per_s: round(t.rateOut.perSecond()),
    batches: t.stats.batches,
    events_in: t.stats.eventsIn,
    events_out: t.stats.eventsOut,
    rejected: t.stats.rejected,
    duplicates_skipped: t.stats.duplicates,
    failed_batches: t.stats.failedBatches,
    failing: t.failing ? { since: iso(t.failing.since)!, retries: t.failing.retries, last_error: t.failing.lastError, last_error_at: iso(t.failing.lastErrorAt)! } : null,
  };
}

export async function pipelineStatus(deps: {
  ch: ClickHouse;
  config: Config;
  eventLog?: EventLog | undefined;
  transformer?: EventsTransformer | undefined;
  bulkTransformer?: EventsTransformer | undefined;
}): Promise<PipelineStatus> {
  // The status is most needed when the log is in trouble: a lag that cannot be read is reported, not thrown.
  let lagError: string | null = null;
  const lagOf = async (topic: string, group: string): Promise<TopicLag | null> => {
    try {
      const partitions = deps.eventLog ? await deps.eventLog.lag(topic, group) : null;
      return partitions ? { topic, group, total: partitions.reduce((s, p) => s + p.lag, 0), partitions } : null;
    } catch (err) {
      lagError ??= err instanceof Error ? err.message : String(err);
      return null;
    }
  };
  const t = deps.transformer;
  const topic = deps.config.topics.events;
  const usage = deps.eventLog?.usage ? await deps.eventLog.usage(topic, deps.config.log.highWaterPct) : null;
  const byReason = await rejectsByReason(deps.ch);
  let lastInsert = t?.stats.lastInsertAt ?? null;
  if (lastInsert === null) {
    const [row] = await deps.ch.rows<{ at_ms: string; parts: string }>(sql('transform/last-insert'));
    if (row && Number(row.parts) > 0) lastInsert = Number(row.at_ms);
  }
  return {
    generated_at: new Date().toISOString(),
    lag: await lagOf(deps.config.topics.events, TRANSFORM_GROUP),
    bulk_lag: await lagOf(deps.config.topics.bulk, BULK_GROUP),
    lag_error: lagError,
    transformer: t ? transformerStatus(t) : null,
    bulk_transformer: deps.bulkTransformer ? transformerStatus(deps.bulkTransformer) : null,
    log_usage: usage ? usageOf(topic, usage) : null,
    last_insert_at: lastInsert === null ? null : new Date(lastInsert).toISOString(),
    rejects: {
      total: byReason.reduce((s, r) => s + r.total, 0),
      last_24h: byReason.reduce((s, r) => s + r.last_24h, 0),
      pending: byReason.reduce((s, r) => s + r.pending, 0),
      by_reason: byReason,
    },
  };
}
