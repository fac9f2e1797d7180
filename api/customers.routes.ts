// Customers: the 360 view of one (scores from memory; profile, orders, sessions from ClickHouse) and the
// filtered, keyset-paginated list (JSON or CSV).
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from './services.ts';
import { requireRole } from './auth.ts';
import { customerRecords, recommendationsFor, scoresOf, type Recommendations } from './customer-360.ts';
import { FEATURE_COLUMNS, ListError, SORT_FIELDS, listFeatures } from './customer-list.ts';
import { CursorError } from './cursor.ts';
import { sendCsv, wantsCsv } from './csv.ts';

export const CustomerIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128, description: 'customer_id' }) });

// The 360's answer. Objects carrying model columns stay open (additionalProperties) so a new score column
// shows without a contract change; what the 360 itself builds is listed in full.
const open = { additionalProperties: true } as const;
const nullable = <T extends TSchema>(s: T) => Type.Union([s, Type.Null()]);
const Scores = {
  rfm: nullable(Type.Object({ run_id: nullable(Type.String()), recency_days: Type.Number(), frequency: Type.Number(), monetary: Type.Number(), r: Type.Number(), f: Type.Number(), m: Type.Number(), score: Type.String(), segment: Type.String() }, open)),
  clv: nullable(Type.Object({ run_id: nullable(Type.String()), clv: Type.Number(), p_alive: Type.Number() }, open)),
  churn: nullable(Type.Object({ run_id: nullable(Type.String()), churn_risk: Type.Number(), top_reasons: Type.Array(Type.String()) }, open)),
};
export const RecommendationsError = Type.Object(
  { service: Type.Literal('recs'), status: Type.Literal('failed') },
  { description: 'Present when recommendations is null: the service that failed (its error is logged, not returned)' },
);
const analystOnly = (s: TSchema) => Type.Optional(s);
const Order = Type.Object({
  order_id: Type.String(), ts: Type.String(), currency: Type.String(), total: Type.Number(), total_base: Type.Number(), refunded: Type.Number(), refunded_base: Type.Number(),
  refund_status: Type.Union([Type.Literal('none'), Type.Literal('partially_refunded'), Type.Literal('refunded')]),
  items: Type.Array(Type.Object({ product_id: Type.String(), category: Type.String(), quantity: Type.Number(), price: Type.Number() })),
});
const Session = Type.Object({
  session_id: Type.String(), site: Type.String(), started_at: Type.String(), ended_at: Type.String(), duration_s: Type.Number(), page_views: Type.Number(), events: Type.Number(),
  pages: Type.Number(), bounced: Type.Boolean(), entry_path: Type.String(), exit_path: Type.String(), converted: Type.Boolean(), orders: Type.Number(), revenue_base: Type.Number(),
  country: Type.String(), device: Type.String(),
});
const Profile = Type.Object({
  site: Type.String(), country: Type.String(), consent: Type.Boolean(), first_seen: Type.String(), updated_at: Type.String(),
  traits: Type.Record(Type.String(), Type.Unknown(), { description: 'masked for analysts, decrypted for admins' }),
  pii: Type.Union([Type.Literal('masked'), Type.Literal('decrypted')]),
  unreadable_traits: Type.Optional(Type.Array(Type.String(), { description: 'traits that did not decrypt (shown as null)' })),
  unreadable_fields: Type.Optional(Type.Array(Type.String(), { description: "profile fields that were not valid JSON (logged; traits shown as none): 'traits'" })),
});
export const Customer360 = Type.Object({
  customer_id: Type.String(),
  ...Scores,
  recommendations: nullable(Type.Array(Type.Unknown())),
  recommendations_error: Type.Optional(RecommendationsError),
  profile: analystOnly(nullable(Profile)),
  merged_into: analystOnly(nullable(Type.String({ description: 'the customer this id was merged into; its history shows there' }))),
  identities: analystOnly(Type.Array(Type.Object({ site: Type.String(), anonymous_id: Type.String(), source: Type.String(), first_seen: Type.String() }), { description: 'anonymous ids that resolve to the customer' })),
  activity: analystOnly(nullable(Type.Object({ events: Type.Number(), events_capped: Type.Boolean(), first_event_at: Type.String(), last_event_at: Type.String() }))),
  orders: analystOnly(Type.Array(Order, { description: 'newest first, merged customers included' })),
  sessions: analystOnly(Type.Array(Session, { description: 'newest first, from the sessions view' })),
}, { description: 'Scores and recommendations for every role; profile, identities, activity, orders and sessions for analysts and admins' });

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

const recommendationsPart = (r: Recommendations) => (r.error ? { recommendations: null, recommendations_error: r.error } : { recommendations: r.items });

type ListQueryT = { segment?: string; churn_min?: number; clv_min?: number; country?: string; sort?: string; cursor?: string; limit?: number; format?: 'json' | 'csv' };

export default async function customersRoutes(app: FastifyInstance, opts: { deps: ApiDeps }): Promise<void> {
  const { deps } = opts;
  const { scores, pii } = deps.services;

  app.get<{ Params: { id: string } }>(
    '/v1/customers/:id',
    {
      preHandler: requireRole(deps, 'storefront', 'analyst'),
      schema: {
        summary: 'Customer 360: scores, segment, CLV, churn risk with reasons, recommendations; profile, orders and sessions for analysts (PII masked) and admins',
        tags: ['customers'],
        params: CustomerIdParams,
        response: { 200: Customer360 },
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
        return { customer_id: id, ...s, ...recommendationsPart(await recommendationsFor(deps, id)) };
      }
      const records = await customerRecords(deps, id, role, pii);
      if (!records && !hasScores) return reply.code(404).send({ error: 'not_found', field: 'id', message: `no customer ${id}` });
      return {
        customer_id: id,
        ...(records ?? { profile: null, merged_into: null, identities: [], activity: null, orders: [], sessions: [] }),
        ...s,
        ...recommendationsPart(await recommendationsFor(deps, id)),
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
