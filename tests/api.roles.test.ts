// Every endpoint × every role: a request without a key gets 401, a key of a role the route does not
// admit gets 403, for every guarded route the app registered (other modules' included). The API's own
// endpoints are also pinned to the roles they are meant for, and answered (not refused) for those roles.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../api/auth.ts';
import { ADMIN, testRuntime } from './helpers/runtime.ts';
import { newKey } from './api.fixture.ts';

let rt: Awaited<ReturnType<typeof testRuntime>>;
let keys: Record<Role, string>;

beforeAll(async () => {
  rt = await testRuntime();
  keys = { storefront: await newKey(rt, 'storefront'), analyst: await newKey(rt, 'analyst'), admin: await newKey(rt, 'admin') };
});
afterAll(async () => {
  await rt?.close();
});

/** What this module's endpoints admit (admin always). */
const INTENDED: Record<string, Role[]> = {
  'GET /v1/customers/:id': ['storefront', 'analyst', 'admin'],
  'GET /v1/customers': ['analyst', 'admin'],
  'DELETE /v1/customers/:id': ['admin'],
  'GET /v1/customers/:id/export': ['admin'],
  'POST /v1/segments': ['analyst', 'admin'],
  'GET /v1/segments': ['analyst', 'admin'],
  'GET /v1/segments/:id': ['analyst', 'admin'],
  'DELETE /v1/segments/:id': ['analyst', 'admin'],
  'GET /v1/segments/:id/customers': ['analyst', 'admin'],
  'GET /v1/segments/:id/sizes': ['analyst', 'admin'],
  'POST /v1/query': ['analyst', 'admin'],
  'GET /v1/query/tables': ['analyst', 'admin'],
  'POST /v1/admin/keys': ['admin'],
  'GET /v1/admin/keys': ['admin'],
  'DELETE /v1/admin/keys/:id': ['admin'],
  'GET /metrics': ['analyst', 'admin'],
};

/** Bodies that pass validation, so an admitted role reaches the handler. */
const BODIES: Record<string, unknown> = {
  'POST /v1/segments': { name: 'roles test', rule: 'clv > 1' },
  'POST /v1/query': { sql: 'SELECT 1 AS one' },
  'POST /v1/admin/keys': { role: 'storefront', name: 'roles test' },
};

function concrete(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, 'x-$1').replace('*', 'anything');
}

describe('roles', () => {
  it('pins the API endpoints to their intended roles', () => {
    const declared = new Map(rt.app!.cvmRoutes.routes.map((r) => [`${r.method} ${r.url}`, r.roles]));
    for (const [route, roles] of Object.entries(INTENDED)) expect(declared.get(route), route).toEqual(roles);
  });

  it('refuses every guarded route to a request without a key (401) and to every role it does not admit (403)', async () => {
    const guarded = rt.app!.cvmRoutes.routes.filter((r) => r.roles && r.method !== 'HEAD');
    expect(guarded.length).toBeGreaterThanOrEqual(Object.keys(INTENDED).length);
    const wrong: string[] = [];
    for (const r of guarded) {
      const route = `${r.method} ${r.url}`;
      const base = { method: r.method as 'GET', url: concrete(r.url), ...(BODIES[route] ? { payload: BODIES[route] as object } : {}) };
      const anon = await rt.app!.inject(base);
      if (anon.statusCode !== 401) wrong.push(`${route} without key: ${anon.statusCode}`);
      const bad = await rt.app!.inject({ ...base, headers: { authorization: 'Bearer sk_analyst_not-a-real-key' } });
      if (bad.statusCode !== 401) wrong.push(`${route} with an unknown key: ${bad.statusCode}`);
      for (const role of ['storefront', 'analyst'] as const) {
        if (r.roles!.includes(role)) continue;
        const res = await rt.app!.inject({ ...base, headers: { authorization: `Bearer ${keys[role]}` } });
        if (res.statusCode !== 403) wrong.push(`${route} as ${role}: ${res.statusCode}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('answers the API endpoints for every role they admit (no 401/403)', async () => {
    const wrong: string[] = [];
    for (const [route, roles] of Object.entries(INTENDED)) {
      const [method, url] = route.split(' ') as [string, string];
      for (const role of roles) {
        const res = await rt.app!.inject({
          method: method as 'GET', url: concrete(url), headers: { authorization: `Bearer ${role === 'admin' ? ADMIN : keys[role]}` },
          ...(BODIES[route] ? { payload: BODIES[route] as object } : {}),
        });
        if (res.statusCode === 401 || res.statusCode === 403 || res.statusCode >= 500) wrong.push(`${route} as ${role}: ${res.statusCode} ${res.body.slice(0, 120)}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
