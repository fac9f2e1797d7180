// buildApp(deps) assembles the HTTP surface of whichever roles this process runs; listen() happens in the CLI.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ApiDeps } from './services.ts';
import { ROUTE_MODULES, type RouteModule } from './routes.ts';
import { requireRole } from './auth.ts';
import { installApiCors, installSecurityHeaders } from './http-hardening.ts';
import { installRequestMetrics } from './metrics.ts';
import { registerDocs } from './openapi.ts';
import { RouteRegistry, hoistRoleGuard } from './route-registry.ts';
import fs from 'node:fs';
import { TRANSFORM_GROUP } from '../transform/events.consumer.ts';
import { Drain } from '../ingest/collector/draining.ts';

const VERSION = (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface AppRoles {
  collector?: boolean;
  api?: boolean;
}

/** Fastify takes a hop count at run time but its types do not: the same rule as a function (hop < n). */
function trustProxyOption(setting: false | number | string[]): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof setting === 'number' ? (_address, hop) => hop < setting : setting;
}

/**
 * The services in `deps` are built and closed by the wiring (bin/services.ts), not here: several apps may
 * share them. `extraRoutes` are modules of the layers above the API (the storefront), added by the wiring.
 */
export async function buildApp<D extends ApiDeps>(
  deps: D,
  roles: AppRoles = { collector: true, api: true },
  extraRoutes: Array<RouteModule<D>> = [],
  /** The runtime's shutdown state (bin/shutdown.ts sets it); an app of its own never drains. */
  drain: Drain = new Drain(),
): Promise<FastifyInstance> {
  const app = Fastify({
    // Per-request lines only at warn and above; request logs at info drown everything else.
    loggerInstance: deps.log.child({ name: 'http' }, { level: deps.log.level === 'silent' ? 'silent' : 'warn' }) as FastifyBaseLogger,
    bodyLimit: deps.config.collector.maxBodyBytes,
    // Off unless CVM_TRUST_PROXY names the proxies: else any client could set its own X-Forwarded-For/Host.
    trustProxy: trustProxyOption(deps.config.api.trustProxy),
    // Events are parsed and checked key by key in the collector; elsewhere strip pollution keys.
    onProtoPoisoning: 'remove',
    onConstructorPoisoning: 'remove',
    // While closing, requests still reach the routes (with Connection: close), so the collector answers its
    // own 503 draining with Retry-After and the API finishes what it serves; Fastify's bare 503 has neither.
    return503OnClosing: false,
  });

  const services = deps.services;
  // Scores, lists and keys in memory before the first API request (idempotent: the runtime may have done it).
  if (roles.api) await services.startApi();
  const registry = new RouteRegistry();
  app.decorate('cvmRoutes', registry);
  app.decorate('cvmDrain', drain);
  app.addHook('onRoute', (route) => {
    registry.add(route);
    hoistRoleGuard(route);
  });
  installSecurityHeaders(app);
  installApiCors(app, deps.config);
  installRequestMetrics(app, services.metrics);

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    const body: Record<string, unknown> = { error: err.code ?? (status >= 500 ? 'internal_error' : 'bad_request'), message: status >= 500 ? 'internal error' : err.message };
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') Object.assign(body, { error: 'body_too_large', field: 'body', message: `body is larger than ${deps.config.collector.maxBodyBytes} bytes` });
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') Object.assign(body, { field: 'content-type' });
    if (err.validation) {
      const v = (err.validation as Array<{ instancePath?: string; params?: { missingProperty?: string }; message?: string }>)[0];
      const field = [(err as { validationContext?: string }).validationContext, v?.instancePath?.replace(/^\//, '').replace(/\//g, '.'), v?.params?.missingProperty]
        .filter(Boolean)
        .join('.');
      Object.assign(body, { error: 'invalid_request', field, message: `${field} ${v?.message ?? 'is invalid'}` });
    }
    void reply.code(status).send(body);
  });

  // Readiness plus how far the transformer is behind the log (0 when this process runs no transformer):
  // 503 {status: "draining"} once a shutdown began, so an orchestrator sends no more traffic here, and
  // 503 {status: "log_unavailable"} while the log cannot be read (a broker away): not ready, and why.
  app.get('/health', async (_req, reply) => {
    let lag = 0;
    let logError: string | null = null;
    if (deps.eventLog && services.transformer) {
      try {
        for (const p of await deps.eventLog.lag(deps.config.topics.events, TRANSFORM_GROUP)) lag += p.lag;
      } catch (err) {
        logError = err instanceof Error ? err.message : String(err);
      }
    }
    const draining = drain.since;
    const status = draining !== null ? 'draining' : logError !== null ? 'log_unavailable' : 'ok';
    if (status !== 'ok') reply.code(503);
    return {
      status,
      ...(draining === null ? {} : { draining_since: new Date(draining).toISOString() }),
      ...(logError === null ? {} : { log_error: logError }),
      clickhouse: deps.ch.mode,
      log: deps.eventLog?.kind ?? null,
      transform_lag: logError === null ? lag : null,
    };
  });
  // Liveness: the process answers (200 while it drains too, so a liveness probe does not kill a clean shutdown).
  app.get('/health/live', async () => ({ status: drain.draining ? 'draining' : 'ok' }));

  app.get('/metrics', { preHandler: requireRole(deps, 'analyst'), schema: { summary: 'Prometheus metrics (text exposition format)', tags: ['operations'] } }, async (_req, reply) =>
    reply.header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8').send(await services.metrics.render(deps)),
  );
  registerDocs(app, VERSION);

  for (const mod of [...ROUTE_MODULES, ...extraRoutes]) {
    if (!roles[mod.role]) continue;
    registry.origin = mod.role;
    await app.register((await mod.load()).default, { deps });
  }
  registry.origin = 'app';
  return app;
}
