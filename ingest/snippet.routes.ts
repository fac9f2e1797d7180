// GET /cvm.js: the browser tracker, built at start-up (ingest/snippet/build.ts). The URL is not
// versioned, so browsers keep it briefly and revalidate with the ETag; gzip is precompressed.
import type { FastifyInstance } from 'fastify';
import type { IngestDeps } from './services.ts';
import { snippet } from './snippet/build.ts';

export default async function snippetRoutes(app: FastifyInstance, _opts: { deps: IngestDeps }): Promise<void> {
  const built = await snippet(); // a broken build stops start-up, not the first page view

  app.get('/cvm.js', async (req, reply) => {
    reply
      .header('Content-Type', 'application/javascript; charset=utf-8')
      .header('Cache-Control', 'public, max-age=300, stale-while-revalidate=86400')
      .header('ETag', built.etag)
      .header('Vary', 'Accept-Encoding')
      .header('X-Content-Type-Options', 'nosniff')
      // Loadable from any shop, including pages with Cross-Origin-Embedder-Policy, and with SRI (crossorigin).
      .header('Cross-Origin-Resource-Policy', 'cross-origin')
      .header('Access-Control-Allow-Origin', '*');
    const inm = req.headers['if-none-match'];
    if (inm && inm.split(',').some((t) => t.trim() === built.etag || t.trim() === '*')) return reply.code(304).send();
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) return reply.header('Content-Encoding', 'gzip').send(built.gzip);
    return reply.send(built.code);
  });
}
