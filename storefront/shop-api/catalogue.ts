// /shop/api/products: listed products (or a search, or a category) and one product, priced for the visitor.
import type { FastifyInstance } from 'fastify';
import { str } from '../form-input.ts';
import { productJson } from './json.ts';
import type { ApiKit } from './kit.ts';

export function catalogueApi(app: FastifyInstance, { shop, visitor }: ApiKit): void {
  app.get('/shop/api/products', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    const q = req.query as Record<string, unknown>;
    const limit = Math.min(500, Math.max(1, Number(q.limit) || 100));
    const query = str(q.q, 200).trim();
    const category = str(q.category, 300);
    const list = query ? shop.catalogue.search(query) : category ? shop.catalogue.inCategory(category) : shop.catalogue.all().filter((p) => p.listed);
    return { products: list.slice(0, limit).map((p) => productJson(shop, v, p)), total: list.length, categories: shop.catalogue.categories() };
  });
  app.get<{ Params: { id: string } }>('/shop/api/products/:id', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    const p = shop.catalogue.get(req.params.id);
    if (!p) return reply.code(404).send({ error: 'not_found', field: 'id', message: `no product ${req.params.id}` });
    return productJson(shop, v, p);
  });
}
