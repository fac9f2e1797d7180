// The shop's stylesheet and script: cached for five minutes, revalidated by ETag.
import type { FastifyInstance } from 'fastify';
import { SHOP_CSS, SHOP_CSS_ETAG, SHOP_JS, SHOP_JS_ETAG } from '../pages/assets.ts';

export function assetRoutes(app: FastifyInstance): void {
  app.get('/shop/assets/shop.css', async (req, reply) => {
    reply.header('Content-Type', 'text/css; charset=utf-8').header('Cache-Control', 'public, max-age=300').header('ETag', SHOP_CSS_ETAG);
    return req.headers['if-none-match'] === SHOP_CSS_ETAG ? reply.code(304).send() : SHOP_CSS;
  });
  app.get('/shop/assets/shop.js', async (req, reply) => {
    reply.header('Content-Type', 'application/javascript; charset=utf-8').header('Cache-Control', 'public, max-age=300').header('ETag', SHOP_JS_ETAG);
    return req.headers['if-none-match'] === SHOP_JS_ETAG ? reply.code(304).send() : SHOP_JS;
  });
}
