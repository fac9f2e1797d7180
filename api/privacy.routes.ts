// Privacy (admin): erase a customer everywhere, or export everything held about them. Both are audited
// under a hash of the customer id, so the audit trail proves the erasure without keeping the id.
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from './services.ts';
import { requireRole } from './auth.ts';
import { actorOf, recordAudit } from '../lib/audit.ts';
import { CustomerIdParams } from './customers.routes.ts';
import { eraseCustomer, exportCustomer, hashedId } from './erasure.ts';

export default async function privacyRoutes(app: FastifyInstance, opts: { deps: ApiDeps }): Promise<void> {
  const { deps } = opts;
  const { pii } = deps.services;

  app.delete<{ Params: { id: string } }>(
    '/v1/customers/:id',
    {
      preHandler: requireRole(deps, 'admin'),
      schema: {
        summary: 'Erase a customer: their event-log keys destroyed and records removed, raw events (by customer id and every linked anonymous id), identities, profile, sessions, dead letters, shop account (blocked, sessions ended), model outputs, caches; orders anonymised so shop totals stay',
        tags: ['privacy'],
        params: CustomerIdParams,
      },
    },
    async (req, reply) => {
      const result = await eraseCustomer(deps, req.params.id);
      const complete = Object.keys(result.remaining).length === 0 && Object.keys(result.errors).length === 0;
      await recordAudit(deps.ch, actorOf(req.principal), 'erase', hashedId(req.params.id), {
        erased: result.erased, remaining: result.remaining, errors: result.errors, customer_ids: result.ids.customers.length, anonymous_ids: result.ids.anonymous.length, caches: result.caches,
        log_records: result.log_records,
      });
      if (!complete) deps.log.error({ target: hashedId(req.params.id), remaining: result.remaining, errors: result.errors }, 'erasure left rows behind');
      const total = Object.values(result.erased).reduce((a, b) => a + b, 0);
      return reply.code(complete ? 200 : 500).send({
        customer_id: result.customer_id,
        complete,
        rows_erased: total,
        erased: result.erased,
        remaining: result.remaining,
        errors: result.errors,
        ids: { customer_ids: result.ids.customers, anonymous_ids: result.ids.anonymous },
        caches: result.caches,
        log_records_removed: result.log_records,
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/customers/:id/export',
    {
      preHandler: requireRole(deps, 'admin'),
      schema: { summary: 'Everything held about a customer (right of access), PII decrypted, as JSON', tags: ['privacy'], params: CustomerIdParams },
    },
    async (req, reply) => {
      const data = await exportCustomer(deps, req.params.id, pii);
      await recordAudit(deps.ch, actorOf(req.principal), 'export', hashedId(req.params.id), { tables: data ? Object.fromEntries(Object.entries(data.tables).map(([t, r]) => [t, r.length])) : {} });
      if (!data) return reply.code(404).send({ error: 'not_found', field: 'id', message: `no data held for customer ${req.params.id}` });
      return reply.header('Content-Disposition', `attachment; filename="customer-export.json"`).send({ exported_at: new Date().toISOString(), ...data });
    },
  );
}
