// Model runs on demand (admin) and their history.
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from './services.ts';
import { requireRole } from './auth.ts';
import { UnknownModelError } from '../models/runner.ts';
import { AsOfError, parseAsOf } from '../models/as-of.ts';

export default async function modelsRoutes(app: FastifyInstance, opts: { deps: ApiDeps }): Promise<void> {
  const { deps } = opts;

  app.post<{ Params: { name: string }; Querystring: { as_of?: string } }>(
    '/v1/models/:name/run',
    {
      preHandler: requireRole(deps, 'admin'),
      schema: { querystring: { type: 'object', properties: { as_of: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } } } },
    },
    async (req, reply) => {
    const models = deps.services.models;
    if (!models) return reply.code(503).send({ error: 'no_scheduler', message: 'this process does not run model jobs; call the scheduler role' });
    let now: Date | undefined;
    try {
      now = req.query.as_of ? parseAsOf(req.query.as_of) : undefined;
    } catch (err) {
      if (err instanceof AsOfError) return reply.code(400).send({ error: 'invalid_request', field: 'querystring.as_of', message: `as_of ${err.message}` });
      throw err;
    }
    try {
      const runs = await models.run(req.params.name, now);
      const failed = runs.some((r) => r.status !== 'ok');
      return reply.code(failed ? 500 : 200).send({ runs });
    } catch (err) {
      if (err instanceof UnknownModelError) return reply.code(404).send({ error: 'unknown_model', field: 'name', message: err.message });
      throw err;
    }
    },
  );

  app.get<{ Querystring: { model?: string; limit?: number } }>(
    '/v1/models/runs',
    {
      preHandler: requireRole(deps, 'analyst'),
      schema: { querystring: { type: 'object', properties: { model: { type: 'string', maxLength: 64 }, limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } } } },
    },
    async (req) => {
      const rows = await deps.ch.rows(
        `SELECT run_id, model, version, status, started_at, finished_at, params, metrics, rows_written, error
         FROM model_runs FINAL
         WHERE status != 'running' AND ({model:String} = '' OR model = {model:String})
         ORDER BY finished_at DESC LIMIT {limit:UInt32}`,
        { model: req.query.model ?? '', limit: req.query.limit ?? 50 },
      );
      return { runs: rows.map((r) => ({ ...r, params: JSON.parse(String(r.params || '{}')), metrics: JSON.parse(String(r.metrics || '{}')) })) };
    },
  );
}
