// Which site a request sends for: its write key (header X-CVM-Key, body field key or query key), and an
// origin the site allows.
import type { FastifyRequest } from 'fastify';
import { siteAllowsOrigin, type Site, type WriteKeyResolver } from '../write-keys.ts';
import { HttpError } from './http.ts';

export function authenticate(writeKeys: WriteKeyResolver, req: FastifyRequest, body: Record<string, unknown>): Site {
  const header = req.headers['x-cvm-key'];
  const query = (req.query as Record<string, unknown> | undefined)?.key;
  const key = (typeof header === 'string' && header) || (typeof body.key === 'string' && body.key) || (typeof query === 'string' && query) || '';
  if (!key) throw new HttpError(401, 'missing_key', 'a write key is required in header X-CVM-Key or body field key', 'key');
  const site = writeKeys.resolve(key);
  if (!site) throw new HttpError(401, 'invalid_key', 'unknown write key', 'key');
  if (!siteAllowsOrigin(site, req.headers.origin)) throw new HttpError(403, 'origin_not_allowed', `origin ${req.headers.origin} may not send events for this site`, 'origin');
  return site;
}
