// API keys (admin): create (the key is in the answer, once), list (never the secrets), revoke.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from './services.ts';
import { requireRole } from './auth.ts';
import { actorOf, recordAudit } from '../lib/audit.ts';
import { KEY_ROLES, KeyInputError, type KeyRole } from './keys.ts';

const CreateKey = Type.Object(
  {
    role: Type.Union(KEY_ROLES.map((r) => Type.Literal(r)), { description: 'storefront, analyst, admin (secret keys) or write (public key of one site, events only)' }),
    name: Type.Optional(Type.String({ maxLength: 128 })),
    site: Type.Optional(Type.String({ maxLength: 64, description: 'write keys: the site the events belong to' })),
    origins: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 100, description: "write keys: page origins allowed to send, or ['*']" })),
  },
  { additionalProperties: false },
);

export default async function adminKeysRoutes(app: FastifyInstance, opts: { deps: ApiDeps }): Promise<void> {
  const { deps } = opts;
  const { keys } = deps.services;
  const admin = requireRole(deps, 'admin');

  app.post<{ Body: { role: KeyRole; name?: string; site?: string; origins?: string[] } }>(
    '/v1/admin/keys',
    { preHandler: admin, schema: { summary: 'Create an API key; the key is shown in this answer only', tags: ['admin'], body: CreateKey } },
    async (req, reply) => {
      try {
        const { key, secret } = await keys.create({ ...req.body, createdBy: req.principal!.keyId });
        await recordAudit(deps.ch, actorOf(req.principal), 'key_create', key.key_id, { role: key.role, name: key.name, site: key.site });
        return reply.code(201).send({ ...key, key: secret, note: 'store this key now: it is not kept and cannot be shown again' });
      } catch (err) {
        if (err instanceof KeyInputError) return reply.code(400).send({ error: 'invalid_request', field: err.field, message: err.message });
        throw err;
      }
    },
  );

  app.get('/v1/admin/keys', { preHandler: admin, schema: { summary: 'Live API keys (ids, roles, names, prefixes; never the keys)', tags: ['admin'] } }, async () => {
    await keys.reload();
    return { keys: keys.list() };
  });

  app.delete<{ Params: { id: string } }>(
    '/v1/admin/keys/:id',
    { preHandler: admin, schema: { summary: 'Revoke an API key', tags: ['admin'], params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }) } },
    async (req, reply) => {
      if (!(await keys.revoke(req.params.id))) return reply.code(404).send({ error: 'not_found', field: 'id', message: `no live key ${req.params.id}` });
      await recordAudit(deps.ch, actorOf(req.principal), 'key_revoke', req.params.id);
      return reply.code(204).send();
    },
  );
}
