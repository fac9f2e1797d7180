// The services the API layer uses, as one typed record (deps.services). bin/services.ts builds it once
// per process (with the storefront's on top) and owns its lifecycle; routes only read from it.
import type { AppDeps, CoreServices } from '../lib/app-deps.ts';
import type { IngestServices } from '../ingest/services.ts';
import type { EventsTransformer } from '../transform/events.consumer.ts';
import type { ModelRunner } from '../models/runner.ts';
import type { RecsStore } from '../models/recs/store.ts';
import type { ErasureStep } from './erasure.ts';
import type { ApiKeyStore } from './keys.ts';
import type { Metrics } from './metrics.ts';
import type { ScoreCache } from './score-cache.ts';
import type { SegmentService } from './segments/segment-service.ts';

export interface ApiServices extends CoreServices, IngestServices {
  /** Model jobs, where this process can run them (null: ask the scheduler role). */
  models: ModelRunner | null;
  /** The transformer, where this process runs one (its stats feed the pipeline status). */
  transformer: EventsTransformer | null;
  /** The second transformer, draining the bulk topic (the demo history) beside the live one. */
  bulkTransformer: EventsTransformer | null;
  /** API keys: resolves secrets for requireRole, write keys for the collector, admin key rotation. */
  keys: ApiKeyStore;
  segments: SegmentService;
  metrics: Metrics;
  /** Latest model scores in memory, refreshed after every run. */
  scores: ScoreCache;
  recs: RecsStore;
  /** Every holder of customer data outside the tables, in the order erasure calls them (bin/services.ts). */
  erasure: ErasureStep[];
  /**
   * Loads what the API serves from memory (keys, scores, recommendation lists) and starts their refresh.
   * Idempotent; buildApp awaits it before it registers the API's routes.
   */
  startApi(): Promise<void>;
}

export type ApiDeps = AppDeps<ApiServices>;

/** How often keys (and a rotated bootstrap admin key) are re-read. */
export const KEY_RELOAD_MS = 30_000;
