// Customer merges (admin): two ids that are one person, resolved at query time, undoable.
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from './services.ts';
import { requireRole } from './auth.ts';
import { listMerges, mergeCustomers, MergeError, undoMerge } from '../transform/merges.ts';

export default async function customerMergesRoutes(app: FastifyInstance, opts: { deps: ApiDeps }): Promise<void> {
  const { deps } = opts;
  const idSchema = { type: 'string', minLength: 1, maxLength: 128 };

  app.post<{ Body: { from: string; into: string } }>(
    '/v1/admin/customers/merge',
    {
      preHandler: requireRole(deps, 'admin'),
      schema: {
        summary: "Merge two customer ids that are one person: from's events resolve to into (at query time)",
        tags: ['customers'],
        body: { type: 'object', additionalProperties: false, required: ['from', 'into'], properties: { from: idSchema, into: idSchema } },
      },
    },
    async (req, reply) => {
      try {
        const merge = await mergeCustomers(deps.ch, { from: req.body.from, into: req.body.into, actor: { id: req.principal!.keyId, role: req.principal!.role } });
        return reply.code(201).send({ merge });
      } catch (err) {
        if (err instanceof MergeError) return reply.code(err.status).send({ error: err.code, field: err.field, message: err.message });
        throw err;
      }
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/admin/customers/merge/:id/undo',
    { preHandler: requireRole(deps, 'admin'), schema: { summary: 'Undo a customer merge', tags: ['customers'], params: { type: 'object', properties: { id: idSchema }, required: ['id'] } } },
    async (req, reply) => {
      try {
        return { merge: await undoMerge(deps.ch, req.params.id, { id: req.principal!.keyId, role: req.principal!.role }) };
      } catch (err) {
        if (err instanceof MergeError) return reply.code(err.status).send({ error: err.code, field: err.field, message: err.message });
        throw err;
      }
    },
  );

  app.get<{ Querystring: { limit?: number } }>(
    '/v1/admin/customers/merges',
    {
      preHandler: requireRole(deps, 'admin'),
      schema: { summary: 'Customer merges, newest first, with their state', tags: ['customers'], querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } } },
    },
    async (req) => ({ merges: await listMerges(deps.ch, { limit: req.query.limit ?? 100 }) }),
  );
}
