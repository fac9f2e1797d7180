// buildApp(deps) assembles the HTTP surface of whichever roles this process runs; listen() happens in the CLI.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AppDeps } from './deps.ts';

export interface AppRoles {
  collector?: boolean;
  api?: boolean;
}

export async function buildApp(deps: AppDeps, roles: AppRoles = { collector: true, api: true }): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log.child({ name: 'http' }) as FastifyBaseLogger,
    bodyLimit: deps.config.collector.maxBodyBytes,
    trustProxy: true,
    // Events are parsed and checked key by key in the collector; elsewhere strip pollution keys.
    onProtoPoisoning: 'remove',
    onConstructorPoisoning: 'remove',
  });

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

  app.get('/health', async () => ({ status: 'ok', clickhouse: deps.ch.mode, log: deps.eventLog?.kind ?? null }));

  if (roles.collector) await app.register((await import('../ingest/collector.routes.ts')).default, { deps });
  if (roles.api) {
    await app.register((await import('./customers.routes.ts')).default, { deps });
    await app.register((await import('./models.routes.ts')).default, { deps });
  }
  return app;
}
