// What every visitor endpoint of the shop API uses: the visitor (refusing cross-site writes), the
// logged-in member (else 401) and the JSON body.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Member } from '../members.store.ts';
import type { Shop, ShopDeps } from '../shop.ts';
import { crossSite, visitorFor, type Visitor } from '../visitor.ts';

export interface ApiKit {
  shop: Shop;
  /** The visitor, or null once a cross-site write has been answered 403. Answers are never cached. */
  visitor(req: FastifyRequest, reply: FastifyReply): Visitor | null;
  /** The logged-in member, or null once 401 has been answered. */
  member(v: Visitor, reply: FastifyReply): Member | null;
  body(req: FastifyRequest): Record<string, unknown>;
}

export function apiKit(deps: ShopDeps, shop: Shop): ApiKit {
  return {
    shop,
    visitor(req, reply) {
      const v = visitorFor(deps, shop, req, reply);
      if (req.method !== 'GET' && crossSite(req)) {
        void reply.code(403).send({ error: 'cross_site', message: 'requests from other sites are refused' });
        return null;
      }
      reply.header('Cache-Control', 'private, no-store');
      return v;
    },
    member(v, reply) {
      if (v.member) return v.member;
      void reply.code(401).send({ error: 'login_required', message: 'log in first: POST /shop/api/login' });
      return null;
    },
    body: (req) => (req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {}),
  };
}
