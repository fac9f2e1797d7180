// Everything a route plugin may need, built once by the CLI (or a test) and handed to buildApp.
import type { ClickHouse } from '../lib/clickhouse.ts';
import type { Config } from '../lib/config.ts';
import type { EventLog } from '../lib/eventlog/types.ts';
import type { Logger } from '../lib/logger.ts';
import type { Clock } from '../lib/clock.ts';
import type { ModelRunner } from '../models/runner.ts';

export interface AppDeps {
  config: Config;
  ch: ClickHouse;
  log: Logger;
  /** "Now" for default time windows and model runs; the system clock unless a test injects one. */
  clock?: Clock;
  /** Present where this process runs the collector role. */
  eventLog?: EventLog;
  /** Present where this process can run model jobs. */
  models?: ModelRunner;
  /** Extra services registered by feature modules (recommendation store, score cache, ...). */
  services: Map<string, unknown>;
}
