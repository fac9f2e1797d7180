// Every route the app serves, with the roles its guard admits (null: no role guard) and the schema it
// declared. Filled by an onRoute hook in buildApp; read by the OpenAPI document and the test that fails
// when an API route forgets to declare its role.
import type { RouteOptions } from 'fastify';
import { ROLE_GUARD, declaredRoles, type Role } from './auth.ts';

/**
 * Moves a route's role guard from preHandler to onRequest: the key is checked before the body is read
 * and validated, so a caller without the right key learns nothing from validation errors (a 400 that
 * names the fields) and costs no body parsing.
 */
export function hoistRoleGuard(route: RouteOptions): void {
  const pre = Array.isArray(route.preHandler) ? route.preHandler : route.preHandler ? [route.preHandler] : [];
  const guards = pre.filter((h) => (h as unknown as Record<symbol, unknown>)[ROLE_GUARD]);
  if (guards.length === 0) return;
  route.preHandler = pre.filter((h) => !guards.includes(h));
  const on = Array.isArray(route.onRequest) ? route.onRequest : route.onRequest ? [route.onRequest] : [];
  route.onRequest = [...guards, ...on] as RouteOptions['onRequest'];
}

export interface RouteInfo {
  method: string;
  url: string;
  roles: Role[] | null;
  /** Which kind of module registered it: 'collector', 'api', or 'app' for buildApp's own routes. */
  origin: string;
  schema: Record<string, unknown> | undefined;
}

export class RouteRegistry {
  readonly routes: RouteInfo[] = [];
  origin = 'app';

  /** Records the route (call before hoistRoleGuard: the guard is looked up in preHandler). */
  add(route: RouteOptions): void {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const roles = declaredRoles(route.preHandler) ?? declaredRoles(route.onRequest);
    for (const method of methods) {
      this.routes.push({ method: String(method).toUpperCase(), url: route.url, roles, origin: this.origin, schema: route.schema as Record<string, unknown> | undefined });
    }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    cvmRoutes: RouteRegistry;
  }
  /** Documentation keys read by api/openapi.ts (Fastify itself ignores them). */
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: string[];
  }
}
