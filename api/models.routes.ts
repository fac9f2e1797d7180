// Model runs on demand (admin) and their history.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from './deps.ts';
import { requireRole } from './auth.ts';
import { UnknownModelError } from '../models/runner.ts';

export default async function modelsRoutes(app: FastifyInstance, opts: { deps: AppDeps }): Promise<void> {
  const { deps } = opts;

  app.post<{ Params: { name: string }; Querystring: { as_of?: string } }>(
    '/v1/models/:name/run',
    {
      preHandler: requireRole(deps, 'admin'),
      schema: { querystring: { type: 'object', properties: { as_of: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } } } },
    },
    async (req, reply) => {
    if (!deps.models) return reply.code(503).send({ error: 'no_scheduler', message: 'this process does not run model jobs; call the scheduler role' });
    try {
      const now = req.query.as_of ? new Date(`${req.query.as_of}T23:59:59.999Z`) : undefined;
      const runs = await deps.models.run(req.params.name, now);
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
