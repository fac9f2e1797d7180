// What every model job looks like to the runner and the scheduler.
import type { ClickHouse } from '../lib/clickhouse.ts';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';

export interface ModelJobContext {
  ch: ClickHouse;
  config: Config;
  log: Logger;
  /** Outputs are written under this run id; readers use the latest run whose status is 'ok'. */
  runId: string;
  /** The run's reference time ("today" for recency and horizons). */
  now: Date;
}

export interface ModelJobResult {
  rowsWritten: number;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
}

export interface ModelJob {
  name: string;
  version: string;
  /** Jobs this one reads the output of; `models run all` orders by them. */
  after?: string[];
  run(ctx: ModelJobContext): Promise<ModelJobResult>;
}
