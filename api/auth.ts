// Secret keys with roles. Every route declares which roles may call it; admin may call everything.
// Keys come in `Authorization: Bearer <key>` (or X-CVM-Key). The bootstrap admin key is CVM_ADMIN_KEY;
// further keys are resolved by a KeyResolver registered in deps.services under 'keys'.
import crypto from 'node:crypto';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { AppDeps } from './deps.ts';

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

function safeEqual(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

export function presentedKey(req: FastifyRequest): string {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth.toLowerCase().startsWith('bearer ')) return auth.slice(7).trim();
  const h = req.headers['x-cvm-key'];
  return typeof h === 'string' ? h.trim() : '';
}

export function resolvePrincipal(deps: AppDeps, secret: string): Principal | null {
  if (!secret) return null;
  const admin = deps.config.keys.admin;
  if (admin && safeEqual(secret, admin)) return { keyId: 'bootstrap-admin', role: 'admin' };
  const resolver = deps.services.get('keys') as KeyResolver | undefined;
  return resolver?.resolve(secret) ?? null;
}

/** preHandler that admits only the given roles (admin always). 401 without a valid key, 403 for the wrong role. */
export function requireRole(deps: AppDeps, ...roles: Role[]): preHandlerAsyncHookHandler {
  return async function (req: FastifyRequest, reply: FastifyReply) {
    const principal = resolvePrincipal(deps, presentedKey(req));
    if (!principal) {
      return reply.code(401).send({ error: 'unauthorized', field: 'authorization', message: 'a secret key is required: Authorization: Bearer <key>' });
    }
    if (principal.role !== 'admin' && !roles.includes(principal.role)) {
      return reply.code(403).send({ error: 'forbidden', field: 'authorization', message: `this route needs role ${[...roles, 'admin'].join(' or ')}; the key has role ${principal.role}` });
    }
    req.principal = principal;
  };
}
