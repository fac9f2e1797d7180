// The OpenAPI 3.1 document, built from the routes the app actually registered (their JSON schemas and
// declared roles) plus the event contract's TypeBox schemas, so the document cannot drift from the code.
// GET /docs/openapi.json serves it; GET /docs is a plain HTML index of it (no scripts).
import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { BatchBody, Context, EventEnvelope, PropertiesByType, Traits } from '../ingest/contract.ts';
import type { RouteInfo } from './route-registry.ts';

type Json = Record<string, unknown>;

/** The collector parses its own bodies (one bad event must not sink a batch), so its schemas are added here. */
const COLLECTOR_BODIES: Record<string, { schema: string; summary: string }> = {
  'POST /v1/batch': { schema: 'BatchBody', summary: 'Send up to 500 events (write key)' },
  'POST /v1/track': { schema: 'EventEnvelope', summary: 'Send one event (write key)' },
  'POST /v1/identify': { schema: 'EventEnvelope', summary: 'Identify a visitor as a customer, with traits (write key)' },
};

function plain(schema: unknown): Json {
  // TypeBox keeps its metadata under symbols; JSON drops them.
  return JSON.parse(JSON.stringify(schema)) as Json;
}

function parameters(where: 'path' | 'query', schema: unknown): Json[] {
  const s = schema as { properties?: Record<string, Json>; required?: string[] } | undefined;
  if (!s?.properties) return [];
  return Object.entries(s.properties).map(([name, p]) => ({
    name, in: where, required: where === 'path' || (s.required ?? []).includes(name), schema: plain(p),
    ...(typeof p.description === 'string' ? { description: p.description } : {}),
  }));
}

export function buildOpenApi(routes: RouteInfo[], info: { version: string }): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    if (r.method === 'HEAD' || r.method === 'OPTIONS' || r.url.includes('*')) continue;
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const schema = (r.schema ?? {}) as Json;
    const op: Json = {
      summary: (schema.summary as string | undefined) ?? COLLECTOR_BODIES[`${r.method} ${r.url}`]?.summary ?? `${r.method} ${r.url}`,
      ...(schema.description ? { description: schema.description } : {}),
      tags: [(schema.tags as string[] | undefined)?.[0] ?? r.url.split('/')[2] ?? 'app'],
      parameters: [...parameters('path', schema.params), ...parameters('query', schema.querystring)],
      responses: schema.response
        ? Object.fromEntries(Object.entries(schema.response as Json).map(([code, s]) => [code, { description: String((s as Json).description ?? code), content: { 'application/json': { schema: plain(s) } } }]))
        : { '200': { description: 'OK' } },
    };
    if (schema.body) op.requestBody = { required: true, content: { 'application/json': { schema: plain(schema.body) } } };
    const collector = COLLECTOR_BODIES[`${r.method} ${r.url}`];
    if (collector) {
      op.requestBody = { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${collector.schema}` } }, 'text/plain': { schema: { $ref: `#/components/schemas/${collector.schema}` } } } };
      op.security = [{ writeKey: [] }];
    } else if (r.roles) {
      op.security = [{ bearer: [] }];
      op['x-cvm-roles'] = r.roles;
      op.description = `${op.description ? `${op.description}\n\n` : ''}Roles: ${r.roles.join(', ')}.`;
    } else op.security = [];
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  const properties = Object.fromEntries(Object.entries(PropertiesByType).map(([type, s]) => [`Properties_${type}`, plain(s)]));
  return {
    openapi: '3.1.0',
    info: {
      title: 'cvm API',
      version: info.version,
      description: 'Customer intelligence: collector (write keys), customer 360, segments, scores, recommendations, analyst queries, privacy. Secret keys go in `Authorization: Bearer <key>`; each operation lists the roles it admits (admin may call everything).',
    },
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A secret key (sk_…) with role storefront, analyst or admin' },
        writeKey: { type: 'apiKey', in: 'header', name: 'X-CVM-Key', description: 'A public write key (wk_…) of one site' },
      },
      schemas: { EventEnvelope: plain(EventEnvelope), Traits: plain(Traits), Context: plain(Context), BatchBody: plain(BatchBody), ...properties },
    },
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = 'body{font:14px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}code{background:#f3f3f3;padding:0 .2rem}td{padding:.2rem .6rem;vertical-align:top}th{text-align:left}';
const STYLE_HASH = crypto.createHash('sha256').update(STYLE).digest('base64');

export function docsHtml(doc: Json): string {
  const rows: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(ops)) {
      const roles = (op['x-cvm-roles'] as string[] | undefined)?.join(', ') ?? ((op.security as unknown[]).length ? 'write key' : 'public');
      rows.push(`<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escapeHtml(path)}</code></td><td>${escapeHtml(String(op.summary))}</td><td>${escapeHtml(roles)}</td></tr>`);
    }
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>cvm API</title><style>${STYLE}</style></head><body>
<h1>cvm API</h1><p>Machine-readable: <a href="/docs/openapi.json">/docs/openapi.json</a> (OpenAPI 3.1). Secret keys: <code>Authorization: Bearer &lt;key&gt;</code>.</p>
<table><tr><th>Method</th><th>Path</th><th>What</th><th>Roles</th></tr>${rows.join('')}</table></body></html>`;
}

export function registerDocs(app: FastifyInstance, version: string): void {
  let cached: Json | null = null;
  const doc = () => (cached ??= buildOpenApi(app.cvmRoutes.routes, { version }));
  app.get('/docs/openapi.json', { schema: { summary: 'This OpenAPI document', tags: ['docs'] } }, async () => doc());
  app.get('/docs', { schema: { summary: 'API index (HTML)', tags: ['docs'] } }, async (_req, reply) =>
    reply
      .header('Content-Type', 'text/html; charset=utf-8')
      .header('Content-Security-Policy', `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`)
      .send(docsHtml(doc())),
  );
}
