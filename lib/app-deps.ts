// What every role's code is handed: the store, config, log, clock, the event log where this process has
// one, and a typed record of services. Each layer names the services it needs (ingest: IngestServices,
// api: ApiServices, storefront: ShopServices); bin/services.ts builds one object that has them all.
import type { ClickHouse } from './clickhouse.ts';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { EventLog } from './eventlog/types.ts';
import type { Logger } from './logger.ts';
import type { PiiCipher } from './crypto.ts';
import type { SubjectKeys } from './subject-keys.ts';

export interface AppDeps<S extends object> {
  config: Config;
  ch: ClickHouse;
  log: Logger;
  /** "Now" for default time windows and model runs; the system clock unless a test injects one. */
  clock: Clock;
  /** Present where this process runs the collector or the transformer. */
  eventLog?: EventLog;
  services: S;
}

/** The services every layer may use: the PII cipher the transformer seals with and the API opens with. */
export interface CoreServices {
  pii: PiiCipher;
  /** Per-subject data keys (crypto-shredding); null only on a store that was never migrated. */
  subjectKeys: SubjectKeys | null;
}
