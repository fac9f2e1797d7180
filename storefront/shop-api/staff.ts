// Shop staff, with a secret key (admin): /v1/shop/orders (list, read, transition) and
// /v1/shop/products/import (a catalogue CSV, up to 50 MiB).
import type { FastifyInstance } from 'fastify';
import { requireRole } from '../../api/auth.ts';
import { str } from '../form-input.ts';
import { parseProductsCsv } from '../products-csv.ts';
import type { ShopDeps } from '../shop.ts';
import { orderJson, sendOrderError } from './json.ts';
import type { ApiKit } from './kit.ts';

const CSV_LIMIT = 50 * 1024 * 1024;

export function staffApi(app: FastifyInstance, { shop, body }: ApiKit, deps: ShopDeps): void {
  const admin = requireRole(deps, 'admin');

  app.get('/v1/shop/orders', { preHandler: admin }, async (req) => {
    const q = req.query as Record<string, unknown>;
    const state = str(q.state, 20);
    const customerId = str(q.customer_id, 128);
    const limit = Math.min(1000, Math.max(1, Number(q.limit) || 100));
    return { orders: shop.orders.list({ limit, ...(state ? { state } : {}), ...(customerId ? { customerId } : {}) }).map(orderJson) };
  });
  app.get<{ Params: { id: string } }>('/v1/shop/orders/:id', { preHandler: admin }, async (req, reply) => {
    const o = shop.orders.get(req.params.id);
    if (!o) return reply.code(404).send({ error: 'not_found', field: 'id', message: `no order ${req.params.id}` });
    return { ...orderJson(o), history: await shop.orders.history(o.order_id) };
  });
  app.post<{ Params: { id: string; action: string } }>('/v1/shop/orders/:id/:action', { preHandler: admin }, async (req, reply) => {
    const b = body(req);
    // NOTE: a simulated clock (demo traffic) is honoured here only because the route is admin-only.
    const sim = req.headers['x-cvm-sim-time'];
    try {
      const o = await shop.orders.transition(req.params.id, req.params.action, { kind: 'admin', id: req.principal?.keyId ?? 'admin' }, { reason: str(b.reason, 500), ...(typeof sim === 'string' && /^\d{12,14}$/.test(sim) ? { at: Number(sim) } : {}) });
      return orderJson(o);
    } catch (err) {
      return sendOrderError(reply, err);
    }
  });

  // The CSV body parser applies to the import only (an encapsulated plugin).
  app.register(async (csv) => {
    csv.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string', bodyLimit: CSV_LIMIT }, (_req, b, done) => done(null, b));
    csv.post('/v1/shop/products/import', { preHandler: admin, bodyLimit: CSV_LIMIT }, async (req, reply) => {
      const text = typeof req.body === 'string' ? req.body : '';
      let parsed;
      try {
        parsed = parseProductsCsv(text, deps.config.baseCurrency);
      } catch (err) {
        return reply.code(400).send({ error: 'bad_csv', field: 'body', message: (err as Error).message });
      }
      const unknown = [...new Set(parsed.products.map((p) => p.currency))].filter((c) => !shop.money.known(c));
      if (unknown.length) return reply.code(400).send({ error: 'unknown_currency', field: 'currency', message: `no exchange rate for ${unknown.join(', ')}; import rates first` });
      const imported = await shop.importProducts(parsed.products);
      return { imported, problems: parsed.problems };
    });
  });
}
