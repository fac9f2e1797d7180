// Headers every response gets, and CORS for the secret-key API. The collector answers its own CORS
// (write-key origins); this covers dashboards served from another origin (CVM_API_CORS_ORIGINS).
import type { FastifyInstance } from 'fastify';
import type { Config } from '../lib/config.ts';

/** For HTML pages that set no policy of their own: scripts and data only from this origin (inline styles allowed: chart libraries set them). */
export const DEFAULT_HTML_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    if (!reply.hasHeader('X-Frame-Options')) reply.header('X-Frame-Options', 'DENY');
    if (!reply.hasHeader('Referrer-Policy')) reply.header('Referrer-Policy', 'no-referrer');
    const type = String(reply.getHeader('content-type') ?? '');
    if (type.startsWith('text/html') && !reply.hasHeader('Content-Security-Policy')) reply.header('Content-Security-Policy', DEFAULT_HTML_CSP);
    // Answers to keyed requests hold customer data: no shared cache may keep them.
    if ((req.headers.authorization || req.headers['x-cvm-key']) && !reply.hasHeader('Cache-Control') && req.url.startsWith('/v1/')) reply.header('Cache-Control', 'no-store');
    return payload;
  });
}

export function installApiCors(app: FastifyInstance, config: Config): void {
  const allowed = config.api.corsOrigins;
  if (allowed.length === 0) return;
  const any = allowed.includes('*');
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (!origin || !(any || allowed.includes(origin))) return;
    reply.header('Access-Control-Allow-Origin', origin);
    reply.header('Vary', 'Origin');
    reply.header('Access-Control-Expose-Headers', 'Retry-After, Content-Disposition, X-Next-Cursor');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      return reply
        .code(204)
        .header('Access-Control-Allow-Methods', 'GET, POST, DELETE, OPTIONS')
        .header('Access-Control-Allow-Headers', 'Authorization, Content-Type, Accept, X-CVM-Key')
        .header('Access-Control-Max-Age', '600')
        .send();
    }
  });
}
