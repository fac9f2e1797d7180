// Assembles the roles one process runs: collector, transformer, scheduler, api. `cvm start` runs all of
// them on the embedded engine; the role commands run one each against Kafka and a ClickHouse server.
import path from 'node:path';
import cron from 'node-cron';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import { systemClock, type Clock } from '../lib/clock.ts';
import { connectClickHouse, type ClickHouse } from '../lib/clickhouse.ts';
import { migrate } from '../lib/migrate.ts';
import { openEventLog, type Consumer, type EventLog } from '../lib/eventlog/index.ts';
import { SealedEventLog } from '../lib/eventlog/sealed.ts';
import { sealDeadLetters } from '../transform/rejects.ts';
import { ModelRunner } from '../models/runner.ts';
import { JobLockedError } from '../models/lock.ts';
import { modelJobs } from '../models/registry.ts';
import { BULK_GROUP, EventsTransformer, TRANSFORM_GROUP } from '../transform/events.consumer.ts';
import { seedDefaultRates } from '../transform/fx.ts';
import { buildApp } from '../api/app.ts';
import { Drain } from '../ingest/collector/draining.ts';
import { generateAdminKey, readAdminKeyFile, writeAdminKeyFile } from '../api/keys.ts';
import { SHOP_ROUTE_MODULES } from '../storefront/route-modules.ts';
import { DASHBOARD_ROUTE_MODULES } from '../dashboards/route-modules.ts';
import type { AppDeps, CoreServices } from '../lib/app-deps.ts';
import { openPiiServices } from '../lib/pii-services.ts';
import { buildServices, type Services } from './services.ts';

/** Records per bulk batch: one chunk of the transformer's (its CHUNK_MIN), so one set of inserts each. */
const BULK_BATCH_MAX = 5000;

export interface Roles {
  collector: boolean;
  transformer: boolean;
  scheduler: boolean;
  api: boolean;
}

export interface Runtime {
  deps: AppDeps<Services>;
  /** Whether this start generated the bootstrap admin key (only then is it printed), and its file. */
  adminKey: { generated: boolean; file: string | null };
  app: FastifyInstance | null;
  eventLog: EventLog | null;
  transformer: EventsTransformer | null;
  /** Drains config.topics.bulk (the demo history) beside the live transformer; null where that one is. */
  bulkTransformer: EventsTransformer | null;
  models: ModelRunner;
  url: string | null;
  /** Set by close(): the collector answers 503 draining and GET /health 503 {status: "draining"}. */
  drain: Drain;
  /** The graceful part of a shutdown (bin/shutdown.ts bounds it in time): see the steps in the body. */
  close(): Promise<void>;
}

/** The admin key file cvm keeps when CVM_ADMIN_KEY is not set (`cvm keys rotate-admin` replaces it). */
export function adminKeyFile(config: Config): string {
  return path.join(config.dataDir, 'admin.key');
}

/** The admin key: CVM_ADMIN_KEY, else one generated once and kept in the data directory. */
export function ensureAdminKey(config: Config): { key: string; generated: boolean; file: string | null } {
  if (config.keys.admin) return { key: config.keys.admin, generated: false, file: null };
  const file = adminKeyFile(config);
  const kept = readAdminKeyFile(file);
  if (kept) return { key: kept, generated: false, file };
  const key = generateAdminKey();
  writeAdminKeyFile(file, key);
  return { key, generated: true, file };
}

export async function openStore(config: Config, log: Logger): Promise<ClickHouse> {
  const ch = await connectClickHouse(config);
  await migrate(ch, log.child({ name: 'migrate' }));
  await seedDefaultRates(ch);
  return ch;
}

/** `clock`: "now" for model runs and time windows (tests pass a fixed instant); the system clock by default. */
export async function startRuntime(configIn: Config, log: Logger, roles: Roles, opts: { listen?: boolean; clock?: Clock } = {}): Promise<Runtime> {
  const clock = opts.clock ?? systemClock;
  const admin = ensureAdminKey(configIn);
  const config: Config = { ...configIn, keys: { ...configIn.keys, admin: admin.key, adminFile: admin.file } };
  const ch = await openStore(config, log);
  const plainLog = roles.collector || roles.transformer ? await openEventLog(config, log.child({ name: 'eventlog' })) : null;
  const models = new ModelRunner({ ch, config, log: log.child({ name: 'models' }), clock });
  for (const job of await modelJobs()) models.register(job);

  // The PII cipher (CVM_ENCRYPTION_KEY) first: the event log and the transformer seal with it.
  const core: CoreServices = await openPiiServices(ch, config, log);
  // Every record sealed under its subject's data key: erasure destroys the key (crypto-shredding).
  const eventLog = plainLog && core.subjectKeys ? new SealedEventLog(plainLog, core.subjectKeys) : plainLog;
  const transformer =
    roles.transformer && eventLog
      ? new EventsTransformer({ ch: sealDeadLetters(ch, core.pii), config, log: log.child({ name: 'transform' }), protectTraits: core.pii.protectTraits })
      : null;
  // Bulk loads drain through a topic and transformer of their own, so live events do not queue behind them.
  // Embedded, both share chDB's one query lane: a bulk batch is one chunk (one set of inserts) at most, so a
  // live insert waits behind one bulk insert at most (bench/latency.bench.ts measures it).
  const bulkTransformer = transformer
    ? new EventsTransformer({ ch: sealDeadLetters(ch, core.pii), config, log: log.child({ name: 'transform-bulk' }), protectTraits: core.pii.protectTraits, source: { topic: config.topics.bulk, group: BULK_GROUP, maxBatch: BULK_BATCH_MAX } })
    : null;
  const wired = buildServices({ config, ch, log, clock, eventLog: eventLog ?? undefined, services: core }, { models, transformer, bulkTransformer });
  const deps: AppDeps<Services> = { config, ch, log, clock, eventLog: eventLog ?? undefined, services: wired.services };
  if (roles.api) await wired.services.startApi();

  const consumer: Consumer | null = transformer && eventLog ? await transformer.start(eventLog) : null;
  const bulkConsumer: Consumer | null = bulkTransformer && eventLog ? await bulkTransformer.start(eventLog) : null;

  const tasks: Array<{ stop(): void | Promise<void> }> = [];
  if (roles.scheduler) {
    for (const [name, expr] of Object.entries(config.schedules)) {
      if (expr === 'off' || !models.names().includes(name)) continue;
      tasks.push(
        cron.schedule(expr, () =>
          void models.run(name).catch((err) => {
            // Another scheduler (or an API call) runs this job right now: skipping this tick is the point of the lock.
            if (err instanceof JobLockedError) log.info({ model: name, holder: err.holder }, 'scheduled run skipped: the job runs elsewhere');
            else log.error({ err, model: name }, 'scheduled run failed');
          }),
        ),
      );
    }
    // CVM_BACKUP_CRON: backups of the embedded store, with retention (lib/backup/schedule.ts).
    if (config.backup.cron !== 'off') tasks.push((await import('../lib/backup/schedule.ts')).scheduleBackups({ config, ch, log }));
  }

  // Every role serves GET /health (a transformer's reports its lag), so an orchestrator can probe each one.
  const drain = new Drain();
  const app: FastifyInstance = await buildApp(deps, { collector: roles.collector, api: roles.api }, [...DASHBOARD_ROUTE_MODULES, ...SHOP_ROUTE_MODULES], drain);
  let url: string | null = null;
  if (opts.listen !== false) {
    await app.listen({ port: config.port, host: config.host });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  } else {
    await app.ready();
  }

  let closing: Promise<void> | null = null;
  const shutdown = async () => {
    // 1. Take no more events (the collector answers 503 draining) and report draining on /health.
    drain.begin();
    // 2. No new scheduled model runs. A run in progress is not waited for: its model_runs row stays
    //    'running' (never served), its lease (server mode) expires by itself, the next tick runs it again.
    for (const t of tasks) await t.stop();
    // 3. The transformers finish the batch in hand and commit it; the rest waits in the log.
    await Promise.all([consumer?.stop(), bulkConsumer?.stop()]);
    // 4. Requests in flight finish (an append in flight is acknowledged: it is in the log); then the rest.
    await app.close();
    await wired.close();
    if (eventLog) await eventLog.close();
    await ch.close();
  };
  return {
    deps, app, eventLog, transformer, bulkTransformer, models, url, drain, adminKey: { generated: admin.generated, file: admin.file },
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
}

/** Resolves once the transformers have consumed everything appended so far, live and bulk (or the timeout passes). */
export async function waitForDrain(rt: Runtime, timeoutMs = 120_000): Promise<boolean> {
  if (!rt.eventLog) return true;
  const { topics } = rt.deps.config;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const lag = [...(await rt.eventLog.lag(topics.events, TRANSFORM_GROUP)), ...(await rt.eventLog.lag(topics.bulk, BULK_GROUP))];
    if (lag.every((p) => p.lag === 0)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
