// Browsers may send events from the origins a write key allows: CORS headers on every answer to such an
// origin, and the preflight answer.
import type { FastifyInstance } from 'fastify';
import type { WriteKeyResolver } from '../write-keys.ts';

export function collectorCors(app: FastifyInstance, writeKeys: WriteKeyResolver): void {
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (origin && writeKeys.originAllowed(origin)) {
      reply.header('Access-Control-Allow-Origin', origin);
      reply.header('Access-Control-Allow-Credentials', 'false');
      reply.header('Vary', 'Origin');
      // Lets the snippet honour Retry-After on 429/503.
      reply.header('Access-Control-Expose-Headers', 'Retry-After');
    }
  });

  app.options('/v1/*', async (req, reply) => {
    const origin = req.headers.origin;
    if (!origin || !writeKeys.originAllowed(origin)) return reply.code(403).send({ error: 'origin_not_allowed', field: 'origin', message: 'this origin may not send events' });
    reply.header('Access-Control-Allow-Methods', 'POST, OPTIONS');
    reply.header('Access-Control-Allow-Headers', 'Content-Type, X-CVM-Key');
    reply.header('Access-Control-Max-Age', '86400');
    return reply.code(204).send();
  });
}
