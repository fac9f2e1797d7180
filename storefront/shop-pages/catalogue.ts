// Browsing: the home page, category pages, product pages and search, each with its recommendation shelves.
import type { FastifyInstance } from 'fastify';
import { categoryPage, homePage, productPage, searchPage } from '../pages/catalogue.pages.ts';
import { int, str } from '../form-input.ts';
import { shelfAudience, type PageKit } from './kit.ts';

export function cataloguePages(app: FastifyInstance, kit: PageKit): void {
  const { shop, page, context, see, notFound } = kit;

  app.get('/shop', page((req, reply, v) => homePage(context(req, reply, v), shop.recs.forVisitor(shelfAudience(v), 8))));
  app.get('/shop/', async (_req, reply) => see(reply, '/shop'));

  app.get('/shop/c/*', page((req, reply, v) => {
    let slug = str((req.params as Record<string, string>)['*'], 500);
    try {
      slug = decodeURIComponent(slug);
    } catch {
      return notFound(req, reply, v);
    }
    const node = shop.catalogue.categoryBySlug(slug);
    if (!node) return notFound(req, reply, v);
    const products = shop.catalogue.inCategory(node.path);
    const pageNo = Math.max(1, int((req.query as Record<string, unknown>).page, 1));
    return categoryPage(context(req, reply, v), node, products, pageNo, shop.recs.forVisitor(shelfAudience(v), 6));
  }));

  app.get<{ Params: { id: string } }>('/shop/p/:id', page((req, reply, v) => {
    const id = str((req.params as { id: string }).id, 128);
    const p = shop.catalogue.get(id);
    if (!p) return notFound(req, reply, v);
    const added = (req.query as Record<string, unknown>).added === '1';
    return productPage(context(req, reply, v), p, shop.catalogue.categoryByPath(p.category), shop.recs.similar(id, 6), shop.recs.boughtTogether(id, 4), added ? v.t('added_to_cart') : null);
  }));

  app.get('/shop/search', page((req, reply, v) => {
    const q = (req.query ?? {}) as Record<string, unknown>;
    const query = str(q.q, 200).trim();
    const results = query ? shop.catalogue.search(query) : [];
    return searchPage(context(req, reply, v), query, results, Math.max(1, int(q.page, 1)));
  }));
}
