// Backups of a running store (admin). chDB allows one process per data directory, so while cvm runs the
// backup is made here, by the process that holds the store; `cvm backup` calls this route then.
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from './services.ts';
import { requireRole } from './auth.ts';
import { actorOf, recordAudit } from '../lib/audit.ts';
import { BackupBusyError, BackupTargetError, BackupUnsupportedError, createBackup } from '../lib/backup/backup.ts';
import { listBackups } from '../lib/backup/retention.ts';

const CreateBackup = Type.Object(
  {
    to: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: "an absolute directory on the server's file system; the backup is a new cvm-backup-<time> directory in it (default CVM_BACKUP_DIR)" })),
  },
  { additionalProperties: false },
);

export default async function backupRoutes(app: FastifyInstance, opts: { deps: ApiDeps }): Promise<void> {
  const { deps } = opts;
  const admin = requireRole(deps, 'admin');

  app.post<{ Body: { to?: string } | undefined }>(
    '/v1/admin/backups',
    { preHandler: admin, schema: { summary: 'Back up the store now (tables, event log, keys, settings) while it runs; answers when the backup is complete', tags: ['operations'], body: Type.Optional(CreateBackup) } },
    async (req, reply) => {
      const to = req.body?.to;
      if (to !== undefined && !path.isAbsolute(to)) return reply.code(400).send({ error: 'invalid_request', field: 'to', message: 'an absolute directory on the server' });
      const target = to ?? deps.config.backup.dir;
      // Recorded first, so the backup holds its own audit row and the restored audit log shows it.
      await recordAudit(deps.ch, actorOf(req.principal), 'backup', target);
      try {
        const r = await createBackup({ config: deps.config, ch: deps.ch, log: deps.log.child({ name: 'backup' }) }, { to: target });
        const m = r.manifest;
        return reply.code(201).send({
          path: r.path,
          created_at: m.created_at,
          took_ms: m.took_ms,
          bytes: r.bytes,
          tables: m.tables.length,
          rows: m.tables.reduce((n, t) => n + t.rows, 0),
          log: m.log.positions,
        });
      } catch (err) {
        if (err instanceof BackupBusyError) return reply.code(409).send({ error: 'backup_running', message: err.message });
        if (err instanceof BackupUnsupportedError) return reply.code(409).send({ error: 'backup_unsupported', message: err.message });
        if (err instanceof BackupTargetError) return reply.code(400).send({ error: 'invalid_request', field: 'to', message: err.message });
        throw err;
      }
    },
  );

  app.get('/v1/admin/backups', { preHandler: admin, schema: { summary: 'Complete backups in CVM_BACKUP_DIR, oldest first', tags: ['operations'] } }, async () => ({
    dir: deps.config.backup.dir,
    backups: listBackups(deps.config.backup.dir),
  }));
}
