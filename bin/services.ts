// The process's services, built in one place. Every layer reads its part of this one typed record
// (lib: CoreServices, ingest: IngestServices, api: ApiServices, storefront: ShopServices); what a service
// needs is handed to it here, so nothing depends on registration order.
//
// ERASURE_PLAN names every service and says how erasure reaches the customer data it keeps in memory, or
// why it keeps none. A new service without an entry fails the type check; tests/security.erasure-holders
// erases a customer and asks every holder in the plan whether it still holds them.
import type { AppDeps, CoreServices } from '../lib/app-deps.ts';
import type { ModelRunner } from '../models/runner.ts';
import { RecsStore } from '../models/recs/store.ts';
import type { EventsTransformer } from '../transform/events.consumer.ts';
import type { ErasureHolder, ErasureStep } from '../api/erasure.ts';
import { ApiKeyStore } from '../api/keys.ts';
import { Metrics } from '../api/metrics.ts';
import { ScoreCache } from '../api/score-cache.ts';
import { KEY_RELOAD_MS, type ApiServices } from '../api/services.ts';
import { SegmentService } from '../api/segments/segment-service.ts';
import { ShopService, type ShopServices } from '../storefront/shop.ts';

export type Services = ShopServices;

type Erasure =
  /** Why this service keeps no customer data in memory. */
  | { none: string }
  /** Its holder, or null where this process does not run the service. */
  | { when: ErasureStep['when']; holder: (services: Services) => ErasureHolder | null };

/** Not services: the erasure's own list and the API's start hook. */
type Lifecycle = 'erasure' | 'startApi';

export type ErasurePlan = { [K in Exclude<keyof Services, Lifecycle>]-?: Erasure };

export const ERASURE_PLAN: ErasurePlan = {
  pii: { none: 'a cipher: keys only' },
  subjectKeys: { none: "the subject's keys are destroyed by erasure's event-log step" },
  writeKeys: { none: 'site write keys' },
  keys: { none: 'API keys' },
  segments: { none: 'segment definitions; members and sizes are table rows' },
  metrics: { none: 'counters without ids' },
  models: { none: 'jobs read and write tables; nothing is kept between runs' },
  transformer: { when: 'before-tables', holder: (s) => s.transformer },
  bulkTransformer: { when: 'before-tables', holder: (s) => s.bulkTransformer },
  shop: { when: 'before-tables', holder: (s) => s.shop },
  scores: {
    when: 'after-tables',
    holder: ({ scores }) => ({
      forget: async (subject) => subject.customers.forEach((c) => scores.forget(c)),
      holds: (subject) => subject.customers.some((c) => scores.holds(c)),
    }),
  },
  recs: {
    when: 'after-tables',
    holder: ({ recs }) => ({
      forget: async (subject) => recs.forgetIds([...subject.customers, ...subject.anonymous]),
      holds: (subject) => recs.holdsAny([...subject.customers, ...subject.anonymous]),
    }),
  },
};

/** The erasure's steps, in the plan's order, for the services this process has. */
export function erasureSteps(services: Services): ErasureStep[] {
  const steps: ErasureStep[] = [];
  for (const [name, plan] of Object.entries(ERASURE_PLAN) as Array<[string, Erasure]>) {
    if ('none' in plan) continue;
    const holder = plan.holder(services);
    if (holder) steps.push({ name, when: plan.when, holder });
  }
  return steps;
}

export interface ServiceParts {
  models: ModelRunner | null;
  transformer: EventsTransformer | null;
  bulkTransformer: EventsTransformer | null;
}

export interface BuiltServices {
  /** The whole record; `services.startApi()` loads what the API serves from memory. */
  services: Services;
  close(): Promise<void>;
}

/** `deps.services` holds the core services, opened first (the transformer is built with the cipher). */
export function buildServices(deps: AppDeps<CoreServices>, parts: ServiceParts): BuiltServices {
  const { ch, config, log } = deps;
  const core = deps.services;
  const stops: Array<() => void | Promise<void>> = [];
  const keys = ApiKeyStore.forConfig(ch, config, log.child({ name: 'keys' }));
  const segments = new SegmentService(ch, core.pii, log.child({ name: 'segments' }), config.webhooks.allowHosts);
  const metrics = new Metrics();
  const scores = new ScoreCache(ch, log.child({ name: 'scores' }));
  const recs = new RecsStore({ log: log.child({ name: 'recs-store' }) });
  // A store that was never migrated (a bare collector in tests) has no api_keys table yet: start with the
  // configured keys only; the periodic reload picks the table up once it exists.
  const keysReady = keys.reload().catch((err: unknown) => log.warn({ err }, 'api keys not loaded; only configured keys work until the next reload'));
  keys.startRefresh(KEY_RELOAD_MS);
  stops.push(() => keys.stop());

  let apiStarted: Promise<void> | null = null;
  const startApi = (): Promise<void> =>
    (apiStarted ??= (async () => {
      await keysReady;
      const refresh = scores.start(parts.models);
      stops.push(refresh.stop);
      await refresh.ready;
      // The API still starts when lists fail to load; answers are empty until the next good load.
      await recs.load(ch).catch((err: unknown) => log.error({ err }, 'loading recommendation lists failed'));
      stops.push(recs.watch({ ch, models: parts.models ?? undefined }));
    })());
  const api: ApiServices = { ...core, ...parts, writeKeys: keys.writeKeys, keys, segments, metrics, scores, recs, erasure: [], startApi };
  const apiDeps: AppDeps<ApiServices> = { ...deps, services: api };
  const services: Services = Object.assign(api, { shop: new ShopService(apiDeps) });
  services.erasure = erasureSteps(services);

  parts.models?.afterRun((run) => segments.afterRun(run));
  const recordRun = (run: Parameters<Metrics['recordRun']>[0]) => metrics.recordRun(run);
  parts.models?.on('run', recordRun);
  stops.push(() => void parts.models?.off('run', recordRun));

  return {
    services,
    async close() {
      await apiStarted?.catch(() => undefined);
      for (const stop of stops) await stop();
      await segments.idle();
      await services.shop.close();
    },
  };
}
