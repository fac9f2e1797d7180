// `cvm backup [--to DIR] [--json]`: a backup of the embedded store (lib/backup). chDB allows one process
// per data directory: when a running cvm holds the store, it makes the backup (POST /v1/admin/backups,
// through bin/server-call.ts); otherwise this process takes the store's lock (so no `cvm start` opens it
// meanwhile) and makes it itself.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { UserError, type CliContext } from '../../lib/cli-context.ts';
import { connectClickHouse } from '../../lib/clickhouse.ts';
import { createBackup, unsupportedReason } from '../../lib/backup/backup.ts';
import { acquireInstanceLock, describeHolder, type Held } from '../instance-lock.ts';
import { postToHolder } from '../server-call.ts';

interface Made { path: string; created_at: string; took_ms: number; bytes: number; tables: number; rows: number; via: 'server' | 'store' }

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { to: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const { config } = ctx;
  const why = unsupportedReason(config);
  if (why) throw new UserError(why);
  if (!fs.existsSync(path.join(config.dataDir, 'clickhouse'))) throw new UserError(`no store in ${config.dataDir} (CVM_DATA_DIR): nothing to back up`);
  // Resolved here: the server's working directory is not this shell's.
  const to = path.resolve(values.to ?? config.backup.dir);

  const got = await acquireInstanceLock(config.dataDir);
  let made: Made;
  if ('held' in got) {
    made = await viaServer(ctx, got.held, to);
  } else {
    try {
      const ch = await connectClickHouse(config);
      try {
        const r = await createBackup({ config, ch, log: ctx.log.child({ name: 'backup' }) }, { to });
        const m = r.manifest;
        made = { path: r.path, created_at: m.created_at, took_ms: m.took_ms, bytes: r.bytes, tables: m.tables.length, rows: m.tables.reduce((n, t) => n + t.rows, 0), via: 'store' };
      } finally {
        await ch.close();
      }
    } finally {
      await got.lock.release();
    }
  }
  if (values.json) ctx.out(JSON.stringify(made));
  else {
    ctx.out(`backup made${made.via === 'server' ? ' by the running cvm' : ''}: ${made.path}`);
    ctx.out(`  ${made.tables} tables, ${made.rows} rows, ${(made.bytes / 1024 / 1024).toFixed(1)} MiB in ${(made.took_ms / 1000).toFixed(1)} s`);
    ctx.out(`  restore with: CVM_DATA_DIR=<empty dir> cvm restore ${made.path}`);
  }
  return 0;
}

async function viaServer(ctx: CliContext, held: Held, to: string): Promise<Made> {
  const res = await postToHolder(ctx, held, '/v1/admin/backups', { to });
  const body = JSON.parse(res.body || '{}') as Partial<Made> & { message?: string };
  if (res.status !== 201) throw new UserError(`the running cvm (${describeHolder(held)}) answered ${res.status}: ${body.message ?? res.body}`);
  return { ...(body as Made), via: 'server' };
}
