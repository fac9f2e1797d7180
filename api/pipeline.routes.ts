// Pipeline health (analyst) and exchange-rate imports (admin; the running transformer reloads at once).
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from './services.ts';
import { requireRole } from './auth.ts';
import { pipelineStatus } from '../transform/pipeline-status.ts';
import { importRates, parseRatesCsv } from '../transform/fx.ts';
import { actorOf, recordAudit } from '../lib/audit.ts';
import type { EventsTransformer } from '../transform/events.consumer.ts';

export default async function pipelineRoutes(app: FastifyInstance, opts: { deps: ApiDeps }): Promise<void> {
  const { deps } = opts;
  const transformer = () => deps.services.transformer ?? undefined;

  app.get('/v1/pipeline/status', { preHandler: requireRole(deps, 'analyst'), schema: { summary: 'Log lag, transformer events/s, rejects by reason, last insert', tags: ['pipeline'] } }, async () =>
    pipelineStatus({ ch: deps.ch, config: deps.config, eventLog: deps.eventLog, transformer: transformer(), bulkTransformer: deps.services.bulkTransformer ?? undefined }),
  );

  // Rates arrive as the CSV `cvm fx import` reads (day,currency,rate[,base]), as text/csv or {"csv": "..."}.
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: 20 * 1024 * 1024 }, (_req, body, done) => done(null, body));
  app.post<{ Body: string | { csv?: unknown } }>(
    '/v1/admin/fx/rates',
    {
      preHandler: requireRole(deps, 'admin'),
      bodyLimit: 20 * 1024 * 1024,
      schema: { summary: 'Import daily exchange rates (CSV day,currency,rate[,base]); the transformer reloads at once', tags: ['pipeline'] },
    },
    async (req, reply) => {
      const text = typeof req.body === 'string' ? req.body : typeof req.body?.csv === 'string' ? req.body.csv : null;
      if (text === null) return reply.code(400).send({ error: 'invalid_request', field: 'body', message: 'send the rates CSV as text/csv, or JSON {"csv": "..."}' });
      let rows;
      try {
        rows = parseRatesCsv(text, deps.config.baseCurrency);
      } catch (err) {
        return reply.code(400).send({ error: 'invalid_csv', field: 'body', message: (err as Error).message });
      }
      const res = await importRates(deps.ch, rows);
      const t = transformer();
      if (t) await t.refresh();
      const principal = req.principal!;
      await recordAudit(deps.ch, actorOf(principal), 'fx.import', 'fx_rates', { rows: res.rows, currencies: res.currencies, days: res.days });
      return { imported: res.rows, currencies: res.currencies, days: res.days, transformer_reloaded: Boolean(t) };
    },
  );
}
