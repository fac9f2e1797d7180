// Dashboards: the analyst web UI (/dashboards, public page that asks for a key) and its data API
// (analyst role): the list of dashboards, one dashboard's panels with data, one panel's data as JSON or CSV.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../api/services.ts';
import { requireRole } from '../api/auth.ts';
import { DASHBOARDS_DIR, registry as shippedRegistry } from './panel-registry.ts';
import { FilterError, resolveFilters, type FilterQuery, type Filters } from './filters.ts';
import { modelRunCounts, panelData, type PanelContext } from './panel-data.ts';
import { pipelineStatus } from '../transform/pipeline-status.ts';
import { sendCsv } from '../api/csv.ts';

const UI_DIR = path.join(DASHBOARDS_DIR, 'ui');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

function asset(file: string): Asset {
  const body = fs.readFileSync(file);
  return { type: TYPES[path.extname(file)] ?? 'application/octet-stream', body, gzip: zlib.gzipSync(body), etag: `"${body.length.toString(36)}-${fs.statSync(file).mtimeMs.toString(36)}"` };
}

/** The UI's files, read once; ECharts comes from node_modules (the machine has no CDN). */
function loadAssets(): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const f of fs.readdirSync(UI_DIR)) if (TYPES[path.extname(f)]) out.set(f, asset(path.join(UI_DIR, f)));
  const require = createRequire(import.meta.url);
  out.set('echarts.min.js', asset(require.resolve('echarts/dist/echarts.min.js')));
  return out;
}

function send(req: FastifyRequest, reply: FastifyReply, a: Asset, cache: string) {
  void reply.header('content-type', a.type).header('cache-control', cache).header('etag', a.etag).header('vary', 'accept-encoding');
  if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
  if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) return reply.header('content-encoding', 'gzip').send(a.gzip);
  return reply.send(a.body);
}

const filterQuerySchema = {
  type: 'object',
  properties: {
    from: { type: 'string', maxLength: 10 },
    to: { type: 'string', maxLength: 10 },
    country: { type: 'string', maxLength: 8 },
    segment: { type: 'string', maxLength: 64 },
    grain: { type: 'string', enum: ['day', 'week'] },
    customer: { type: 'string', maxLength: 128 },
    format: { type: 'string', enum: ['json', 'csv'] },
  },
} as const;

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
  return out;
}

type FilterRequest = FastifyRequest<{ Querystring: FilterQuery & { format?: 'json' | 'csv' } }>;

export default async function dashboardsRoutes(app: FastifyInstance, opts: { deps: ApiDeps }): Promise<void> {
  const { deps } = opts;
  const log = deps.log.child({ name: 'dashboards' });
  const reg = shippedRegistry();
  for (const p of reg.problems) log.error({ problem: p }, 'dashboard panel file left out');
  const assets = loadAssets();
  const analyst = requireRole(deps, 'analyst');

  const context = async (): Promise<PanelContext> => ({
    ch: deps.ch,
    log,
    registry: reg,
    runs: await modelRunCounts(deps.ch),
    pipeline: () => pipelineStatus({ ch: deps.ch, config: deps.config, eventLog: deps.eventLog, transformer: deps.services.transformer ?? undefined, bulkTransformer: deps.services.bulkTransformer ?? undefined }),
  });

  const filtersOf = (req: FilterRequest, reply: FastifyReply): Filters | null => {
    try {
      return resolveFilters(req.query, deps.clock.now());
    } catch (err) {
      if (err instanceof FilterError) {
        void reply.code(400).send({ error: 'invalid_request', field: `querystring.${err.field}`, message: err.message });
        return null;
      }
      throw err;
    }
  };

  // --- the web UI (public files: the data behind them needs a key) ---
  const page = (name: string) => async (req: FastifyRequest, reply: FastifyReply) => send(req, reply, assets.get(name)!, 'no-cache');
  app.get('/dashboards', page('index.html'));
  app.get('/dashboards/', page('index.html'));
  app.get('/dashboards/customer/:id', page('customer.html'));
  app.get<{ Params: { file: string } }>('/dashboards/assets/:file', async (req, reply) => {
    const a = assets.get(req.params.file);
    if (!a || req.params.file.endsWith('.html')) return reply.code(404).send({ error: 'not_found', field: 'file', message: `no asset ${req.params.file}` });
    return send(req, reply, a, req.params.file === 'echarts.min.js' ? 'public, max-age=86400' : 'no-cache');
  });

  // --- data ---
  app.get('/v1/dashboards', { preHandler: analyst }, async () => {
    const [opts] = await deps.ch.rows<{ countries: string[]; segments: string[] }>(
      `SELECT
         (SELECT arraySort(groupUniqArray(country)) FROM events WHERE country != '') AS countries,
         (SELECT arraySort(groupUniqArray(toString(segment))) FROM rfm_scores
           WHERE run_id = (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok')) AS segments`,
    );
    const defaults = resolveFilters({}, deps.clock.now());
    return {
      base_currency: deps.config.baseCurrency,
      defaults: { from: defaults.from, to: defaults.to, grain: defaults.grain },
      filters: { countries: opts?.countries ?? [], segments: opts?.segments ?? [] },
      labels: reg.labels,
      dashboards: reg.dashboards.map((d) => ({ ...d, panels: reg.panels.filter((p) => p.dashboard === d.id).map((p) => p.id) })),
    };
  });

  app.get<{ Params: { dashboard: string }; Querystring: FilterQuery }>(
    '/v1/dashboards/:dashboard',
    { preHandler: analyst, schema: { querystring: filterQuerySchema } },
    async (req, reply) => {
      const dashboard = reg.dashboards.find((d) => d.id === req.params.dashboard);
      if (!dashboard) return reply.code(404).send({ error: 'not_found', field: 'dashboard', message: `no dashboard ${req.params.dashboard}; known: ${reg.dashboards.map((d) => d.id).join(', ')}` });
      const filters = filtersOf(req, reply);
      if (!filters) return reply;
      const t0 = Date.now();
      const ctx = await context();
      const defs = reg.panels.filter((x) => x.dashboard === dashboard.id);
      // chDB runs one query at a time, so the embedded engine gets them one by one; a ClickHouse server
      // answers a few at once.
      const data = await mapLimit(defs, deps.ch.mode === 'server' ? 4 : 1, (p) => panelData(ctx, p, filters));
      return { dashboard, filters, panels: defs.map((p, i) => ({ ...p, data: data[i]! })), ms: Date.now() - t0 };
    },
  );

  app.get<{ Params: { id: string }; Querystring: FilterQuery & { format?: 'json' | 'csv' } }>(
    '/v1/panels/:id/data',
    { preHandler: analyst, schema: { querystring: filterQuerySchema } },
    async (req, reply) => {
      const panel = reg.panels.find((p) => p.id === req.params.id);
      if (!panel) return reply.code(404).send({ error: 'not_found', field: 'id', message: `no panel ${req.params.id}` });
      const filters = filtersOf(req, reply);
      if (!filters) return reply;
      const data = await panelData(await context(), panel, filters);
      if (req.query.format === 'csv') {
        if (data.status === 'error') return reply.code(500).send({ error: 'internal_error', message: data.message });
        const name = `${panel.id}_${filters.from}_${filters.to}${filters.country ? '_' + filters.country : ''}.csv`;
        return sendCsv(reply, name, data.columns, data.rows);
      }
      return { panel: panel.id, filters, ...data };
    },
  );
}
