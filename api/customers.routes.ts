// Customers: the 360 view of one (scores from memory; profile, orders, sessions from ClickHouse) and the
// filtered, keyset-paginated list (JSON or CSV).
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from './deps.ts';
import { requireRole } from './auth.ts';
import { scoreCacheFor } from './score-cache.ts';
import { apiServices } from './services.ts';
import { customerRecords, recommendationsFor, scoresOf } from './customer-360.ts';
import { FEATURE_COLUMNS, ListError, SORT_FIELDS, listFeatures } from './customer-list.ts';
import { CursorError } from './cursor.ts';
import { sendCsv, wantsCsv } from './csv.ts';

export const CustomerIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128, description: 'customer_id' }) });

const ListQuery = Type.Object({
  segment: Type.Optional(Type.String({ maxLength: 64, description: 'RFM segment name, e.g. Champions' })),
  churn_min: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'churn_risk at least' })),
  clv_min: Type.Optional(Type.Number({ description: 'clv at least (base currency)' })),
  country: Type.Optional(Type.String({ pattern: '^[A-Za-z]{2}$', description: 'ISO-3166 alpha-2' })),
  sort: Type.Optional(Type.String({ maxLength: 32, description: `one of ${SORT_FIELDS.join(', ')}; leading - for descending` })),
  cursor: Type.Optional(Type.String({ maxLength: 2048, description: 'next_cursor of the previous page' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'rows per page (default 100; CSV default 10000)' })),
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
});

type ListQueryT = { segment?: string; churn_min?: number; clv_min?: number; country?: string; sort?: string; cursor?: string; limit?: number; format?: 'json' | 'csv' };

export default async function customersRoutes(app: FastifyInstance, opts: { deps: AppDeps }): Promise<void> {
  const { deps } = opts;
  const scores = await scoreCacheFor(deps);
  const { pii } = apiServices(deps);

  app.get<{ Params: { id: string } }>(
    '/v1/customers/:id',
    {
      preHandler: requireRole(deps, 'storefront', 'analyst'),
      schema: {
        summary: 'Customer 360: scores, segment, CLV, churn risk with reasons, recommendations; profile, orders and sessions for analysts (PII masked) and admins',
        tags: ['customers'],
        params: CustomerIdParams,
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      const role = req.principal!.role;
      const s = scoresOf(scores, id);
      const hasScores = Boolean(s.rfm || s.clv || s.churn);
      if (role === 'storefront') {
        if (!hasScores) {
          const [known] = await deps.ch.rows<{ n: string }>(
            'SELECT count() AS n FROM (SELECT 1 FROM events WHERE customer_id = {id:String} LIMIT 1)',
            { id },
          );
          if (!known || Number(known.n) === 0) return reply.code(404).send({ error: 'not_found', field: 'id', message: `no customer ${id}` });
        }
        return { customer_id: id, ...s, recommendations: await recommendationsFor(deps, id) };
      }
      const records = await customerRecords(deps, id, role, pii);
      if (!records && !hasScores) return reply.code(404).send({ error: 'not_found', field: 'id', message: `no customer ${id}` });
      return {
        customer_id: id,
        ...(records ?? { profile: null, identities: [], activity: null, orders: [], sessions: [] }),
        ...s,
        recommendations: await recommendationsFor(deps, id),
      };
    },
  );

  app.get<{ Querystring: ListQueryT }>(
    '/v1/customers',
    {
      preHandler: requireRole(deps, 'analyst'),
      schema: {
        summary: 'Customers with their latest scores, filtered and sorted, keyset-paginated; CSV with Accept: text/csv or ?format=csv',
        tags: ['customers'],
        querystring: ListQuery,
      },
    },
    async (req, reply) => {
      const q = req.query;
      const csv = wantsCsv(req);
      const conditions: string[] = ['1'];
      const params: Record<string, unknown> = {};
      if (q.segment !== undefined) {
        conditions.push('segment = {f_segment:String}');
        params.f_segment = q.segment;
      }
      if (q.churn_min !== undefined) {
        conditions.push('churn_risk >= {f_churn:Float64}');
        params.f_churn = q.churn_min;
      }
      if (q.clv_min !== undefined) {
        conditions.push('clv >= {f_clv:Float64}');
        params.f_clv = q.clv_min;
      }
      if (q.country !== undefined) {
        conditions.push('country = {f_country:String}');
        params.f_country = q.country.toUpperCase();
      }
      try {
        const page = await listFeatures(deps.ch, {
          where: conditions.join(' AND '), params, limit: q.limit ?? (csv ? 10_000 : 100),
          ...(q.sort !== undefined ? { sort: q.sort } : {}), ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
        });
        if (csv) {
          if (page.next_cursor) reply.header('X-Next-Cursor', page.next_cursor);
          return sendCsv(reply, 'customers.csv', [...FEATURE_COLUMNS], page.rows);
        }
        return { customers: page.rows, next_cursor: page.next_cursor };
      } catch (err) {
        if (err instanceof ListError) return reply.code(400).send({ error: 'invalid_request', field: err.field, message: err.message });
        if (err instanceof CursorError) return reply.code(400).send({ error: 'invalid_cursor', field: 'cursor', message: err.message });
        throw err;
      }
    },
  );
}
