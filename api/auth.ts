// Secret keys with roles. Every route declares which roles may call it; admin may call everything.
// Keys come in `Authorization: Bearer <key>` (or X-CVM-Key). The bootstrap admin key (CVM_ADMIN_KEY or
// data/admin.key) and further keys are resolved by the key store, deps.services.keys.
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { ApiDeps } from './services.ts';
import { RateLimiter } from '../ingest/rate-limit.ts';

export type Role = 'storefront' | 'analyst' | 'admin';

export interface Principal {
  keyId: string;
  role: Role;
}

export interface KeyResolver {
  resolve(secret: string): Principal | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export function presentedKey(req: FastifyRequest): string {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth.toLowerCase().startsWith('bearer ')) return auth.slice(7).trim();
  const h = req.headers['x-cvm-key'];
  return typeof h === 'string' ? h.trim() : '';
}

export function resolvePrincipal(deps: ApiDeps, secret: string): Principal | null {
  if (!secret) return null;
  // The key store knows the bootstrap admin key, including a rotated one: config holds the key at start only.
  return deps.services.keys.secretKeys.resolve(secret);
}

/** Marks the guard functions, so the route registry (and its test) can tell which roles a route admits. */
export const ROLE_GUARD = Symbol.for('cvm.roleGuard');

export type RoleGuard = preHandlerAsyncHookHandler & { [ROLE_GUARD]: Role[] };

/** Roles a route's preHandler(s) admit, or null when the route has no role guard. */
export function declaredRoles(preHandler: unknown): Role[] | null {
  const list = Array.isArray(preHandler) ? preHandler : preHandler ? [preHandler] : [];
  for (const h of list) {
    const roles = (h as Partial<RoleGuard>)[ROLE_GUARD];
    if (roles) return roles;
  }
  return null;
}

// Per key: a token bucket of config.api.rateLimitPerMinute. Per client address: failed authentications,
// so guessing keys is slow. One pair of buckets per app (tests build several).
const FAILED_AUTH_PER_MINUTE = 120;
const limiters = new WeakMap<ApiDeps, { keys: RateLimiter; failures: RateLimiter }>();

function limitersFor(deps: ApiDeps): { keys: RateLimiter; failures: RateLimiter } {
  let l = limiters.get(deps);
  if (!l) {
    l = { keys: new RateLimiter(deps.config.api.rateLimitPerMinute), failures: new RateLimiter(FAILED_AUTH_PER_MINUTE) };
    limiters.set(deps, l);
  }
  return l;
}

function tooMany(reply: FastifyReply, wait: number, message: string): FastifyReply {
  return reply.code(429).header('Retry-After', String(wait)).send({ error: 'rate_limited', field: 'authorization', message });
}

/**
 * preHandler that admits only the given roles (admin always). 401 without a valid key, 403 for the wrong
 * role, 429 (with Retry-After) when the key used up its requests per minute.
 */
export function requireRole(deps: ApiDeps, ...roles: Role[]): RoleGuard {
  const guard = async function (req: FastifyRequest, reply: FastifyReply) {
    const limit = limitersFor(deps);
    const principal = resolvePrincipal(deps, presentedKey(req));
    if (!principal) {
      const wait = limit.failures.take(req.ip || 'unknown');
      if (wait > 0) return tooMany(reply, wait, 'too many requests without a valid key from this address');
      return reply.code(401).send({ error: 'unauthorized', field: 'authorization', message: 'a secret key is required: Authorization: Bearer <key>' });
    }
    const wait = limit.keys.take(principal.keyId);
    if (wait > 0) return tooMany(reply, wait, `rate limit of ${deps.config.api.rateLimitPerMinute} requests per minute for this key exceeded`);
    if (principal.role !== 'admin' && !roles.includes(principal.role)) {
      return reply.code(403).send({ error: 'forbidden', field: 'authorization', message: `this route needs role ${[...roles, 'admin'].join(' or ')}; the key has role ${principal.role}` });
    }
    req.principal = principal;
  } as RoleGuard;
  guard[ROLE_GUARD] = roles.includes('admin') ? roles : [...roles, 'admin'];
  return guard;
}
