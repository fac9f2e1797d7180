// Services the API and the pipeline share, registered once per process in deps.services:
//   'pii'        PiiCipher (CVM_ENCRYPTION_KEY): the transformer encrypts traits, the API opens them
//   'apiKeys'    ApiKeyStore; 'keys' (secret-key resolver for requireRole) and 'writeKeys' (collector)
//   'segments'   SegmentService, hooked to the model runner (sizes + webhooks after every run)
//   'metrics'    Metrics, fed by the runner's runs and the HTTP hooks
// startRuntime calls this before the transformer starts (it needs the cipher); buildApp calls it again,
// which is a no-op then and sets everything up for apps built without a runtime.
import { ensureEncryptionKey, piiCipherFor, type PiiCipher } from '../lib/crypto.ts';
import { SubjectKeys } from '../lib/subject-keys.ts';
import type { AppDeps } from './deps.ts';
import { ApiKeyStore } from './keys.ts';
import { Metrics } from './metrics.ts';
import { SegmentService } from './segments/segment-service.ts';

export interface ApiServices {
  pii: PiiCipher;
  /** Per-subject data keys (crypto-shredding); null only on a store that was never migrated. */
  subjectKeys: SubjectKeys | null;
  keys: ApiKeyStore;
  segments: SegmentService;
  metrics: Metrics;
}

/** How often keys (and a rotated bootstrap admin key) are re-read. */
export const KEY_RELOAD_MS = 30_000;

export async function installApiServices(deps: AppDeps): Promise<ApiServices> {
  const existing = deps.services.get('api') as ApiServices | undefined;
  if (existing) return existing;
  // PII columns are encrypted with a data key wrapped by CVM_ENCRYPTION_KEY (so the key can be rotated).
  const subjectKeys = await SubjectKeys.open(deps.ch, ensureEncryptionKey(deps.config).key).catch((err: unknown) => {
    deps.log.warn({ err }, 'subject keys unavailable (store not migrated?); PII encrypted with CVM_ENCRYPTION_KEY directly');
    return null;
  });
  const pii = (deps.services.get('pii') as PiiCipher | undefined) ?? subjectKeys?.piiCipher() ?? piiCipherFor(deps.config);
  const keys = ApiKeyStore.forConfig(deps.ch, deps.config, deps.log.child({ name: 'keys' }));
  // A store that was never migrated (a bare collector in tests) has no api_keys table yet: start with the
  // configured keys only; the periodic reload picks the table up once it exists.
  await keys.reload().catch((err: unknown) => deps.log.warn({ err }, 'api keys not loaded; only configured keys work until the next reload'));
  keys.startRefresh(KEY_RELOAD_MS);
  const segments = new SegmentService(deps.ch, pii, deps.log.child({ name: 'segments' }), deps.config.webhooks.allowHosts);
  const metrics = new Metrics();
  const services: ApiServices = { pii, subjectKeys, keys, segments, metrics };
  deps.services.set('api', services);
  deps.services.set('pii', pii);
  if (subjectKeys) deps.services.set('subjectKeys', subjectKeys);
  deps.services.set('apiKeys', keys);
  deps.services.set('keys', keys.secretKeys);
  if (!deps.services.has('writeKeys')) deps.services.set('writeKeys', keys.writeKeys);
  deps.services.set('segments', segments);
  deps.services.set('metrics', metrics);
  if (deps.models) {
    deps.models.afterRun((run) => segments.afterRun(run));
    deps.models.on('run', (run) => metrics.recordRun(run));
  }
  return services;
}

export function apiServices(deps: AppDeps): ApiServices {
  const s = deps.services.get('api') as ApiServices | undefined;
  if (!s) throw new Error('installApiServices(deps) must run before the API routes are registered');
  return s;
}

/** Stops background work (the key refresh timer); the runtime's close calls it through the app's onClose. */
export async function closeApiServices(deps: AppDeps): Promise<void> {
  const s = deps.services.get('api') as ApiServices | undefined;
  s?.keys.stop();
  await s?.segments.idle();
}
