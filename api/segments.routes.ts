// Segments (analyst): built-in RFM segments and saved rule segments, their members (JSON or CSV), their
// size after every model run, and an optional signed webhook push of the members after each run.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ApiDeps } from './services.ts';
import { requireRole } from './auth.ts';
import { SegmentForbiddenError, SegmentInputError } from './segments/segment-service.ts';
import { RULE_FIELDS } from './segments/rules.ts';
import { FEATURE_COLUMNS, ListError, SORT_FIELDS } from './customer-list.ts';
import { CursorError } from './cursor.ts';
import { sendCsv, wantsCsv } from './csv.ts';

const SegmentId = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200, description: "saved segment id (seg_…) or 'rfm:<segment name>'" }) });

const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    rule: Type.String({
      minLength: 1,
      maxLength: 4000,
      description: `e.g. clv > 200 AND churn_risk > 0.6 AND country IN ('DE','FR'). Fields: ${Object.keys(RULE_FIELDS).join(', ')}; operators = != < <= > >= IN, NOT IN, IS [NOT] NULL; AND, OR, NOT, parentheses; 'text' and number values`,
    }),
    webhook_url: Type.Optional(Type.String({ maxLength: 2048, description: 'admin keys only: an http(s) URL on a public address (or a host in CVM_WEBHOOK_ALLOW_HOSTS), POSTed the members after each model run, signed X-CVM-Signature: sha256=HMAC(secret, body); redirects are not followed' })),
  },
  { additionalProperties: false },
);

const MembersQuery = Type.Object({
  sort: Type.Optional(Type.String({ maxLength: 32, description: `one of ${SORT_FIELDS.join(', ')}; leading - for descending` })),
  cursor: Type.Optional(Type.String({ maxLength: 2048 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
});

function notFound(reply: FastifyReply, id: string) {
  return reply.code(404).send({ error: 'not_found', field: 'id', message: `no segment ${id}` });
}

export default async function segmentsRoutes(app: FastifyInstance, opts: { deps: ApiDeps }): Promise<void> {
  const { deps } = opts;
  const { segments } = deps.services;
  const analyst = requireRole(deps, 'analyst');

  app.post<{ Body: { name: string; rule: string; webhook_url?: string } }>(
    '/v1/segments',
    { preHandler: analyst, schema: { summary: 'Save a segment defined by a rule (the webhook secret is shown once)', tags: ['segments'], body: CreateBody } },
    async (req, reply) => {
      try {
        const { segment, webhook_secret } = await segments.create(req.body, req.principal!);
        return reply.code(201).send({ segment, ...(webhook_secret ? { webhook_secret } : {}) });
      } catch (err) {
        if (err instanceof SegmentForbiddenError) return reply.code(403).send({ error: 'forbidden', field: err.field, message: err.message });
        if (err instanceof SegmentInputError) {
          return reply.code(400).send({ error: err.field === 'rule' ? 'invalid_rule' : 'invalid_request', field: err.field, message: err.message, ...(err.position !== undefined ? { position: err.position } : {}) });
        }
        throw err;
      }
    },
  );

  app.get('/v1/segments', { preHandler: analyst, schema: { summary: 'Built-in RFM segments and saved segments, with their latest size (webhook URLs masked for non-admins)', tags: ['segments'] } }, async (req) => ({
    segments: await segments.list(req.principal),
  }));

  app.get<{ Params: { id: string } }>('/v1/segments/:id', { preHandler: analyst, schema: { summary: 'One segment', tags: ['segments'], params: SegmentId } }, async (req, reply) => {
    const s = await segments.get(req.params.id, req.principal);
    return s ? { segment: s } : notFound(reply, req.params.id);
  });

  app.delete<{ Params: { id: string } }>('/v1/segments/:id', { preHandler: analyst, schema: { summary: 'Delete a saved segment (its creator or an admin)', tags: ['segments'], params: SegmentId } }, async (req, reply) => {
    if (req.params.id.startsWith('rfm:')) return reply.code(400).send({ error: 'builtin_segment', field: 'id', message: 'built-in RFM segments cannot be deleted' });
    try {
      return (await segments.remove(req.params.id, req.principal!)) ? reply.code(204).send() : notFound(reply, req.params.id);
    } catch (err) {
      if (err instanceof SegmentForbiddenError) return reply.code(403).send({ error: 'forbidden', field: err.field, message: err.message });
      throw err;
    }
  });

  app.get<{ Params: { id: string }; Querystring: { sort?: string; cursor?: string; limit?: number; format?: 'json' | 'csv' } }>(
    '/v1/segments/:id/customers',
    { preHandler: analyst, schema: { summary: 'Members of a segment with their scores, keyset-paginated; CSV with Accept: text/csv or ?format=csv', tags: ['segments'], params: SegmentId, querystring: MembersQuery } },
    async (req, reply) => {
      const csv = wantsCsv(req);
      try {
        const page = await segments.members(req.params.id, {
          limit: req.query.limit ?? (csv ? 10_000 : 100),
          ...(req.query.sort !== undefined ? { sort: req.query.sort } : {}),
          ...(req.query.cursor !== undefined ? { cursor: req.query.cursor } : {}),
        });
        if (!page) return notFound(reply, req.params.id);
        if (csv) {
          if (page.next_cursor) reply.header('X-Next-Cursor', page.next_cursor);
          return sendCsv(reply, `segment-${req.params.id}.csv`, [...FEATURE_COLUMNS], page.rows);
        }
        return { segment_id: req.params.id, customers: page.rows, next_cursor: page.next_cursor };
      } catch (err) {
        if (err instanceof ListError) return reply.code(400).send({ error: 'invalid_request', field: err.field, message: err.message });
        if (err instanceof CursorError) return reply.code(400).send({ error: 'invalid_cursor', field: 'cursor', message: err.message });
        throw err;
      }
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/segments/:id/sizes',
    { preHandler: analyst, schema: { summary: 'Size of a segment after each model run, oldest first', tags: ['segments'], params: SegmentId } },
    async (req, reply) => {
      if (!(await segments.get(req.params.id))) return notFound(reply, req.params.id);
      return { segment_id: req.params.id, sizes: await segments.sizes(req.params.id) };
    },
  );
}
