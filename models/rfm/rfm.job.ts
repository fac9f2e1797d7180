// RFM: recency, frequency and monetary value per customer, 1-5 quantile scores and a named segment (segments.ts).
// All of it is one INSERT ... SELECT in ClickHouse (sql/rfm/compute.sql); the job records the run.
import { chTime } from '../../lib/clickhouse.ts';
import { sql } from '../../lib/sql.ts';
import type { ModelJob } from '../job.ts';

export const rfmJob: ModelJob = {
  name: 'rfm',
  version: '1',
  async run({ ch, config, runId, now }) {
    const params = { run_id: runId, now: chTime(now.getTime()), window_days: config.models.rfmWindowDays };
    await ch.exec(sql('rfm/compute'), params);
    const segments = await ch.rows<{ segment: string; customers: string; revenue: number; revenue_share: number | null }>(sql('rfm/segment-summary'), { run_id: runId });
    const rows = segments.reduce((n, s) => n + Number(s.customers), 0);
    return {
      rowsWritten: rows,
      params: { window_days: config.models.rfmWindowDays, now: now.toISOString() },
      metrics: {
        customers: rows,
        segments: segments.map((s) => ({ segment: s.segment, customers: Number(s.customers), revenue: s.revenue, revenue_share: s.revenue_share ?? 0 })),
      },
    };
  },
};
