// `cvm restore DIR [--force] [--json]`: a backup into CVM_DATA_DIR, which must be empty (--force moves a
// non-empty one aside). Holds the directory's lock meanwhile, so no `cvm start` opens it half restored.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { UserError, type CliContext } from '../../lib/cli-context.ts';
import { restoreBackup, RestoreRefusedError } from '../../lib/backup/restore.ts';
import { NotABackupError } from '../../lib/backup/manifest.ts';
import { acquireInstanceLock, describeHolder } from '../instance-lock.ts';

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { force: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
  if (positionals.length !== 1) throw new UserError('usage: cvm restore DIR [--force]   (DIR: a backup made by cvm backup; the store goes to CVM_DATA_DIR)');
  const { config } = ctx;
  const got = await acquireInstanceLock(config.dataDir);
  if ('held' in got) throw new UserError(`a running cvm (${describeHolder(got.held)}) uses ${config.dataDir}; stop it first, or restore into another CVM_DATA_DIR`);
  try {
    const r = await restoreBackup(config, ctx.log, path.resolve(positionals[0]!), { force: values.force });
    if (values.json) ctx.out(JSON.stringify(r));
    else {
      ctx.out(`restored ${r.from} (made ${r.createdAt}) into ${r.dataDir}`);
      ctx.out(`  ${r.tables.length} tables, ${r.tables.reduce((n, t) => n + t.rows, 0)} rows${r.migrationsApplied.length ? `; migrations applied: ${r.migrationsApplied.join(', ')}` : ''}`);
      for (const p of r.log) if (p.next > p.committed) ctx.out(`  ${p.next - p.committed} logged events of ${p.topic} are stored when cvm starts`);
      if (r.movedAside) ctx.out(`  the former directory is in ${r.movedAside} (delete it once satisfied)`);
      for (const n of r.notes) ctx.out(`  note: ${n}`);
      ctx.out('Start it with: cvm start');
    }
    return 0;
  } catch (err) {
    if (err instanceof RestoreRefusedError || err instanceof NotABackupError) throw new UserError(err.message);
    throw err;
  } finally {
    await got.lock.release();
  }
}
