// Recommendation endpoints, answered from the in-memory RecsStore (no ClickHouse on the request path).
//   GET /v1/recommendations?customer_id=|anonymous_id=&context_product=&cart=a,b&limit=&country=
//   GET /v1/products/:id/similar?limit=
//   GET /v1/products/:id/bought-together?limit=
// Every answer is { items: [{ product_id, score, reason }], list_id }; the storefront sends list_id
// back with rec_impression / rec_click events so clicks can be traced to the list that was shown.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { newListId, type RecsStore } from '../models/recs/store.ts';
import type { ApiDeps } from './services.ts';
import { requireRole } from './auth.ts';

const MAX_ID = 256;
const MAX_CART = 50;

export class BadParams extends Error {}

type Query = Record<string, string | string[] | undefined>;

function one(q: Query, name: string): string | undefined {
  const v = q[name];
  if (Array.isArray(v)) throw new BadParams(`${name} is given more than once`);
  return v === undefined ? undefined : v;
}

function id(q: Query, name: string): string | undefined {
  const v = one(q, name);
  if (v === undefined) return undefined;
  const t = v.trim();
  if (t === '' || t.length > MAX_ID || /[\u0000-\u001f]/.test(t)) throw new BadParams(`${name} must be 1 to ${MAX_ID} printable characters`);
  return t;
}

export function parseLimit(q: Query): number {
  const v = one(q, 'limit');
  if (v === undefined || v === '') return 10;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 50) throw new BadParams(`limit must be an integer from 1 to 50, got ${JSON.stringify(v.slice(0, 20))}`);
  return Number(v);
}

function onlyKnown(q: Query, known: readonly string[]): void {
  const unknown = Object.keys(q).filter((k) => !known.includes(k));
  if (unknown.length) throw new BadParams(`unknown parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => JSON.stringify(u.slice(0, 40))).join(', ')}; allowed: ${known.join(', ')}`);
}

const RECOMMEND_PARAMS = ['customer_id', 'anonymous_id', 'context_product', 'cart', 'limit', 'country'] as const;

export function parseRecommendQuery(q: Query) {
  onlyKnown(q, RECOMMEND_PARAMS);
  const cartRaw = one(q, 'cart');
  let cart: string[] = [];
  if (cartRaw !== undefined && cartRaw.trim() !== '') {
    cart = cartRaw.split(',').map((s) => s.trim());
    if (cart.some((c) => c === '' || c.length > MAX_ID)) throw new BadParams('cart must be a comma-separated list of product ids without empty entries');
    if (cart.length > MAX_CART) throw new BadParams(`cart may list at most ${MAX_CART} products`);
  }
  const country = id(q, 'country');
  if (country !== undefined && country.length > 64) throw new BadParams('country must be at most 64 characters');
  return {
    customerId: id(q, 'customer_id'),
    anonymousId: id(q, 'anonymous_id'),
    contextProduct: id(q, 'context_product'),
    cart,
    country,
    limit: parseLimit(q),
  };
}

function badRequest(reply: FastifyReply, err: unknown) {
  if (err instanceof BadParams) return reply.code(400).send({ error: 'bad_request', message: err.message });
  throw err;
}

export default async function recommendationsRoutes(app: FastifyInstance, opts: { deps: ApiDeps }): Promise<void> {
  const { deps } = opts;
  // Loaded and kept fresh by the wiring (bin/services.ts): every answer comes from memory.
  const store = deps.services.recs;

  app.get('/v1/recommendations', { preHandler: requireRole(deps, 'storefront', 'analyst') }, async (req, reply) => {
    let q;
    try {
      q = parseRecommendQuery(req.query as Query);
    } catch (err) {
      return badRequest(reply, err);
    }
    const answer = store.recommend(q);
    return { items: answer.items, list_id: newListId(answer.runId) };
  });

  const productRoute = (suffix: string, pick: (id: string, limit: number) => ReturnType<RecsStore['similar']>) =>
    app.get<{ Params: { id: string } }>(`/v1/products/:id/${suffix}`, { preHandler: requireRole(deps, 'storefront', 'analyst') }, async (req, reply) => {
      let limit;
      let productId;
      try {
        onlyKnown(req.query as Query, ['limit']);
        limit = parseLimit(req.query as Query);
        productId = req.params.id.trim();
        if (productId === '' || productId.length > MAX_ID) throw new BadParams(`product id must be 1 to ${MAX_ID} characters`);
      } catch (err) {
        return badRequest(reply, err);
      }
      const answer = pick(productId, limit);
      return { items: answer.items, list_id: newListId(answer.runId) };
    });
  productRoute('similar', (id, limit) => store.similar(id, limit));
  productRoute('bought-together', (id, limit) => store.boughtTogether(id, limit));
}
