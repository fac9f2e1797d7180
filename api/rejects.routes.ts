// The dead letter for operators (admin): list rejects with their reasons, replay them after a fix.
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from './services.ts';
import { requireRole } from './auth.ts';
import { listRejects, replayRejects, RejectsRequestError } from '../transform/rejects.ts';

export default async function rejectsRoutes(app: FastifyInstance, opts: { deps: ApiDeps }): Promise<void> {
  const { deps } = opts;

  app.get<{ Querystring: { reason?: string; limit?: number; all?: boolean } }>(
    '/v1/admin/rejects',
    {
      preHandler: requireRole(deps, 'admin'),
      schema: {
        summary: 'Rejected events (dead letter) with field, reason and raw payload; not yet replayed unless all=true',
        tags: ['pipeline'],
        querystring: {
          type: 'object',
          properties: { reason: { type: 'string', maxLength: 500 }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 }, all: { type: 'boolean', default: false } },
        },
      },
    },
    async (req) => listRejects(deps.ch, { reason: req.query.reason ?? '', limit: req.query.limit ?? 50, all: req.query.all ?? false }),
  );

  app.post<{ Body: { reason?: string; ids?: string[] } }>(
    '/v1/admin/rejects/replay',
    {
      preHandler: requireRole(deps, 'admin'),
      schema: {
        summary: 'Send rejects (by reason text and/or ids) through the transformer again, e.g. after importing a missing rate',
        tags: ['pipeline'],
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { reason: { type: 'string', minLength: 1, maxLength: 500 }, ids: { type: 'array', items: { type: 'string', maxLength: 64 }, minItems: 1, maxItems: 10_000 } },
        },
      },
    },
    async (req, reply) => {
      if (!deps.eventLog) return reply.code(503).send({ error: 'no_event_log', message: 'this process has no event log to replay into; call a process that runs the collector or transformer role' });
      try {
        const principal = req.principal!;
        const res = await replayRejects({ ch: deps.ch, config: deps.config, eventLog: deps.eventLog }, {
          ...(req.body?.reason ? { reason: req.body.reason } : {}),
          ...(req.body?.ids ? { ids: req.body.ids } : {}),
          actor: { id: principal.keyId, role: principal.role },
        });
        return res;
      } catch (err) {
        if (err instanceof RejectsRequestError) return reply.code(400).send({ error: 'invalid_request', field: err.field, message: err.message });
        throw err;
      }
    },
  );
}
