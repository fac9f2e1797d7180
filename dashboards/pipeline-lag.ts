// The pipeline-lag panel: how far the transformer is behind the event log and how fast it goes, from the
// same pipeline status GET /v1/pipeline/status serves (log lag per partition where this process holds
// the log, the transformer's last-minute rates where it runs here, the last insert into ClickHouse).
import type { PipelineStatus } from '../transform/pipeline-status.ts';

export function pipelineRows(s: PipelineStatus, now = Date.now()): Array<{ metric: string; value: number }> {
  const rows: Array<{ metric: string; value: number }> = [];
  if (s.lag) {
    rows.push({ metric: 'lag', value: s.lag.total });
    rows.push({ metric: 'partitions', value: s.lag.partitions.length });
    rows.push({ metric: 'log_high', value: s.lag.partitions.reduce((sum, p) => sum + p.high, 0) });
  }
  if (s.transformer) {
    rows.push({ metric: 'transform_in_per_s', value: s.transformer.events_in_per_s });
    rows.push({ metric: 'transform_events_in', value: s.transformer.events_in });
    rows.push({ metric: 'transform_rejected', value: s.transformer.rejected });
  }
  if (s.last_insert_at) rows.push({ metric: 'last_insert_age_s', value: Math.max(0, (now - Date.parse(s.last_insert_at)) / 1000) });
  return rows;
}
