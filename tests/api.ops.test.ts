// Operations: the OpenAPI document built from the registered routes and the event contract, security
// headers, CORS for the API, rate limits per key, and Prometheus metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../api/app.ts';
import { waitForDrain } from '../bin/runtime.ts';
import { ADMIN, WRITE, testRuntime, FIXTURE_NOW } from './helpers/runtime.ts';
import { purchase, daysAgo } from './helpers/events.ts';
import { newKey } from './api.fixture.ts';

let rt: Awaited<ReturnType<typeof testRuntime>>;
const admin = { authorization: `Bearer ${ADMIN}` };

beforeAll(async () => {
  rt = await testRuntime({ CVM_API_CORS_ORIGINS: 'https://admin.example' });
  const now = FIXTURE_NOW;
  await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE }, payload: { batch: [purchase('c1', daysAgo(3, now), 10), purchase('c2', daysAgo(9, now), 20)] } });
  await waitForDrain(rt, 30_000);
  await rt.models.run('rfm');
});
afterAll(async () => {
  await rt?.close();
});

describe('OpenAPI', () => {
  it('documents every route from its schema and roles, with the event contract', async () => {
    const res = await rt.app!.inject({ method: 'GET', url: '/docs/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    const c360 = doc.paths['/v1/customers/{id}'].get;
    expect(c360['x-cvm-roles']).toEqual(['storefront', 'analyst', 'admin']);
    expect(c360.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path', required: true })]);
    expect(c360.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/v1/customers/{id}'].delete['x-cvm-roles']).toEqual(['admin']);
    const list = doc.paths['/v1/customers'].get.parameters.map((p: { name: string }) => p.name);
    expect(list).toEqual(expect.arrayContaining(['segment', 'churn_min', 'clv_min', 'country', 'sort', 'cursor', 'limit', 'format']));
    expect(doc.paths['/v1/query'].post.requestBody.content['application/json'].schema.properties.sql.type).toBe('string');
    expect(doc.paths['/v1/segments'].post.requestBody.content['application/json'].schema.required).toEqual(['name', 'rule']);
    expect(doc.paths['/v1/batch'].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/BatchBody' });
    expect(doc.paths['/v1/batch'].post.security).toEqual([{ writeKey: [] }]);
    expect(doc.components.schemas.EventEnvelope.properties.event_id.format).toBe('uuid');
    expect(doc.components.schemas.Traits.properties).toHaveProperty('email');
    expect(doc.components.schemas.Properties_purchase.required).toEqual(expect.arrayContaining(['order_id', 'items', 'total', 'currency']));
    // Every API route the app registered is in the document.
    for (const r of rt.app!.cvmRoutes.routes.filter((x) => x.url.startsWith('/v1') && x.method !== 'HEAD' && x.method !== 'OPTIONS')) {
      expect(doc.paths[r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]?.[r.method.toLowerCase()], `${r.method} ${r.url}`).toBeDefined();
    }
  });

  it('serves an HTML index with a strict CSP and no scripts', async () => {
    const res = await rt.app!.inject({ method: 'GET', url: '/docs' });
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toMatch(/default-src 'none'; style-src 'sha256-/);
    expect(res.body).toContain('/v1/customers/{id}');
    expect(res.body).not.toMatch(/<script/i);
  });
});

describe('security headers', () => {
  it('sets nosniff, frame and referrer policy on every answer, no-store on keyed API answers', async () => {
    for (const url of ['/health', '/v1/customers/c1', '/docs/openapi.json', '/nope']) {
      const res = await rt.app!.inject({ method: 'GET', url, headers: admin });
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['x-frame-options'], url).toBe('DENY');
      expect(res.headers['referrer-policy'], url).toBe('no-referrer');
    }
    expect((await rt.app!.inject({ method: 'GET', url: '/v1/customers/c1', headers: admin })).headers['cache-control']).toBe('no-store');
  });
});

describe('CORS for the API', () => {
  it('answers preflights and reflects configured origins only, also in an API-only process', async () => {
    const apiOnly = await buildApp(rt.deps, { api: true, collector: false });
    try {
      for (const app of [rt.app!, apiOnly]) {
        const pre = await app.inject({ method: 'OPTIONS', url: '/v1/customers/c1', headers: { origin: 'https://admin.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
        expect(pre.statusCode).toBe(204);
        expect(pre.headers['access-control-allow-origin']).toBe('https://admin.example');
        expect(pre.headers['access-control-allow-headers']).toMatch(/Authorization/);
        const get = await app.inject({ method: 'GET', url: '/v1/customers/c1', headers: { ...admin, origin: 'https://admin.example' } });
        expect(get.statusCode).toBe(200);
        expect(get.headers['access-control-allow-origin']).toBe('https://admin.example');
        const other = await app.inject({ method: 'GET', url: '/v1/customers/c1', headers: { ...admin, origin: 'https://evil.example' } });
        expect(other.headers['access-control-allow-origin']).toBeUndefined();
      }
      const evilPre = await apiOnly.inject({ method: 'OPTIONS', url: '/v1/customers/c1', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
      expect(evilPre.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await apiOnly.close();
    }
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After once a key used its requests per minute; other keys are unaffected', async () => {
    const deps = { ...rt.deps, config: { ...rt.deps.config, api: { ...rt.deps.config.api, rateLimitPerMinute: 5 } } };
    const app = await buildApp(deps, { api: true, collector: false });
    try {
      const a = await newKey(rt, 'analyst');
      const b = await newKey(rt, 'analyst');
      const codes: number[] = [];
      let last;
      for (let i = 0; i < 7; i++) {
        last = await app.inject({ method: 'GET', url: '/v1/segments', headers: { authorization: `Bearer ${a}` } });
        codes.push(last.statusCode);
      }
      expect(codes).toEqual([200, 200, 200, 200, 200, 429, 429]);
      expect(Number(last!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(last!.json().error).toBe('rate_limited');
      expect((await app.inject({ method: 'GET', url: '/v1/segments', headers: { authorization: `Bearer ${b}` } })).statusCode).toBe(200);
      // Guessing keys from one address is slowed down too.
      const guesses: number[] = [];
      for (let i = 0; i < 125; i++) guesses.push((await app.inject({ method: 'GET', url: '/v1/segments', headers: { authorization: `Bearer sk_guess_${i}` } })).statusCode);
      expect(guesses.slice(0, 120).every((s) => s === 401)).toBe(true);
      expect(guesses.slice(120).every((s) => s === 429)).toBe(true);
    } finally {
      await app.close();
    }
  });
});

describe('metrics', () => {
  it('exposes latency histograms by route and status, pipeline lag and model runs in Prometheus text format', async () => {
    await rt.app!.inject({ method: 'GET', url: '/v1/customers/c1', headers: admin });
    await rt.app!.inject({ method: 'GET', url: '/v1/customers/nobody', headers: admin });
    expect((await rt.app!.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    const res = await rt.app!.inject({ method: 'GET', url: '/metrics', headers: admin });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    expect(text).toMatch(/^cvm_http_request_duration_seconds_bucket\{method="GET",route="\/v1\/customers\/:id",status="200",le="0\.005"\} \d+$/m);
    expect(text).toMatch(/^cvm_http_request_duration_seconds_count\{method="GET",route="\/v1\/customers\/:id",status="404"\} 1$/m);
    expect(text).toMatch(/^cvm_pipeline_lag_events\{partition="\d+"\} 0$/m);
    expect(text).toMatch(/^cvm_model_run_duration_seconds_count\{model="rfm",status="ok"\} 1$/m);
    expect(text).toMatch(/^cvm_model_last_run_duration_seconds\{model="rfm",status="ok"\} [\d.]+$/m);
    expect(text).toMatch(/^cvm_score_cache_customers\{model="rfm"\} 2$/m);
    for (const line of text.trim().split('\n')) {
      if (line.startsWith('#')) expect(line).toMatch(/^# (HELP|TYPE) [a-z_]+ .+$/);
      else expect(line).toMatch(/^[a-z_:][a-z0-9_:]*(\{([a-z_]+="[^"]*",?)*\})? (-?[\d.]+(e[+-]?\d+)?|NaN|\+Inf)$/);
    }
    // Buckets are cumulative.
    const buckets = [...text.matchAll(/^cvm_http_request_duration_seconds_bucket\{method="GET",route="\/v1\/customers\/:id",status="200",le="[^"]+"\} (\d+)$/gm)].map((m) => Number(m[1]));
    expect(buckets).toEqual([...buckets].sort((x, y) => x - y));
  });
});
