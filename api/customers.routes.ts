// One customer's scores (served from memory) and profile.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from './deps.ts';
import { requireRole } from './auth.ts';
import { scoreCacheFor } from './score-cache.ts';

export default async function customersRoutes(app: FastifyInstance, opts: { deps: AppDeps }): Promise<void> {
  const { deps } = opts;
  const scores = await scoreCacheFor(deps);

  app.get<{ Params: { id: string } }>(
    '/v1/customers/:id',
    {
      preHandler: requireRole(deps, 'storefront', 'analyst'),
      schema: { params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 128 } }, required: ['id'] } },
    },
    async (req, reply) => {
      const id = req.params.id;
      const rfm = scores.get('rfm', id);
      const clv = scores.get('clv', id);
      const churn = scores.get('churn', id);
      if (!rfm && !clv && !churn) {
        const [known] = await deps.ch.rows<{ n: string }>(
          'SELECT count() AS n FROM events WHERE customer_id = {id:String} LIMIT 1',
          { id },
        );
        if (!known || Number(known.n) === 0) return reply.code(404).send({ error: 'not_found', field: 'id', message: `no customer ${id}` });
      }
      return {
        customer_id: id,
        rfm: rfm
          ? {
              run_id: scores.runId('rfm'),
              recency_days: rfm.recency_days,
              frequency: rfm.frequency,
              monetary: rfm.monetary,
              r: rfm.r,
              f: rfm.f,
              m: rfm.m,
              score: `${rfm.r}${rfm.f}${rfm.m}`,
              segment: rfm.segment,
            }
          : null,
        clv: clv ? { run_id: scores.runId('clv'), ...clv } : null,
        churn: churn ? { run_id: scores.runId('churn'), ...churn } : null,
      };
    },
  );
}
