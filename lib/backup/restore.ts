// `cvm restore DIR`: a backup into an empty data directory. The tables are re-created from the backup's
// own CREATE statements (its schema version), the materialized views next, so loading a view's source
// rebuilds its table (sessions_agg from events, orders from order_events) consistently with that dump;
// then every other table's rows, counted against the manifest; then migrate() upgrades the schema to
// this cvm's and re-creates the plain views from sql/views (schema_views is left empty for that). The
// log copy goes back as it is: its offsets were already moved back at backup time.
import fs from 'node:fs';
import path from 'node:path';
import { connectClickHouse } from '../clickhouse.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { listMigrations, migrate } from '../migrate.ts';
import { unsupportedReason } from './backup.ts';
import { keyMismatch, keyReport, restoreKeyFiles } from './keys.ts';
import { LOG_FILE, type LogPosition } from './log-copy.ts';
import { readManifest, type BackupManifest } from './manifest.ts';
import { entriesOf } from './paths.ts';
import { countRows, createTable, loadTable } from './tables.ts';

/** Marks a data directory whose restore has not finished. */
export const RESTORING_MARKER = 'RESTORING';
/** Its rows record which views exist; left empty, migrate() re-creates every view from sql/views. */
const VIEWS_RECORD = 'schema_views';

/** The restore was refused before anything was written (or what it wrote was removed again). */
export class RestoreRefusedError extends Error {}

export interface RestoreOptions {
  /** Restore even though the data directory is not empty: it is moved aside first, not deleted. */
  force?: boolean;
  now?: Date;
}

export interface RestoreResult {
  dataDir: string;
  from: string;
  createdAt: string;
  tables: Array<{ name: string; rows: number; rebuiltBy: string | null }>;
  migrationsApplied: number[];
  log: LogPosition[];
  movedAside: string | null;
  notes: string[];
}

export async function restoreBackup(config: Config, log: Logger, from: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  const why = unsupportedReason(config);
  if (why) throw new RestoreRefusedError(why);
  const src = path.resolve(from);
  const m = readManifest(src);
  const known = new Set(listMigrations().map((x) => x.version));
  const newer = m.migrations.filter((v) => !known.has(v));
  if (newer.length) throw new RestoreRefusedError(`${src} was made by a newer cvm (${m.cvm_version}: migrations ${newer.join(', ')} are unknown here); restore it with that version`);

  const target = config.dataDir;
  const movedAside = makeRoom(target, opts, m);
  fs.mkdirSync(target, { recursive: true, mode: 0o700 });
  const marker = path.join(target, RESTORING_MARKER);
  fs.writeFileSync(marker, `restoring ${src} (started ${new Date().toISOString()})\n`);

  restoreKeyFiles(src, m.key_files, target);
  const wrong = keyMismatch(m.keys, keyReport(config));
  if (wrong) {
    for (const name of entriesOf(target)) fs.rmSync(path.join(target, name), { recursive: true, force: true });
    throw new RestoreRefusedError(`${wrong}\nNothing was restored.`);
  }
  if (m.log.file) {
    fs.mkdirSync(path.dirname(path.join(target, LOG_FILE)), { recursive: true, mode: 0o700 });
    fs.copyFileSync(path.join(src, m.log.file), path.join(target, LOG_FILE));
  }

  const ch = await connectClickHouse(config);
  try {
    const tables = await restoreTables(ch, src, m);
    const migrationsApplied = await migrate(ch, log.child({ name: 'migrate' }));
    fs.rmSync(marker);
    const notes: string[] = [];
    if (m.keys.admin.source === 'env') notes.push('the bootstrap admin key came from CVM_ADMIN_KEY: set it again (API keys made with `cvm keys create` are restored)');
    log.info({ from: src, tables: tables.length }, 'backup restored');
    return { dataDir: target, from: src, createdAt: m.created_at, tables, migrationsApplied, log: m.log.positions, movedAside, notes };
  } catch (err) {
    throw new Error(`restore failed: ${(err as Error).message}\n${target} holds a partial store (${RESTORING_MARKER}); fix the cause and run cvm restore again with --force`, { cause: err });
  } finally {
    await ch.close();
  }
}

/** Refuses a data directory that holds anything, unless forced: then it is moved aside and named. */
function makeRoom(target: string, opts: RestoreOptions, m: BackupManifest): string | null {
  const entries = entriesOf(target);
  if (!entries.length) return null;
  const stamp = (opts.now ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const aside = `${target}.replaced-${stamp}`;
  const what = entries.includes(RESTORING_MARKER) ? 'an unfinished restore' : `${entries.length} entries: ${entries.slice(0, 4).join(', ')}${entries.length > 4 ? ', …' : ''}`;
  if (!opts.force) {
    throw new RestoreRefusedError(`${target} is not empty (${what}); cvm restore writes only into an empty data directory.\nPass --force to move it aside to ${aside} first, or set CVM_DATA_DIR to a new directory (backup of ${m.created_at}).`);
  }
  fs.renameSync(target, aside);
  return aside;
}

async function restoreTables(ch: Awaited<ReturnType<typeof connectClickHouse>>, src: string, m: BackupManifest): Promise<RestoreResult['tables']> {
  for (const t of m.tables) await createTable(ch, t.create);
  for (const v of m.materialized_views) await createTable(ch, v.create);
  // No merges while the rows go in, so every table's count can be checked against the manifest exactly
  // (a merge of a ReplacingMergeTree would fold row versions the dump holds).
  await ch.exec('SYSTEM STOP MERGES');
  try {
    for (const t of m.tables) if (t.name !== VIEWS_RECORD) await loadTable(ch, src, t);
    const out: RestoreResult['tables'] = [];
    for (const t of m.tables) {
      const rows = await countRows(ch, t.name);
      const expected = t.name === VIEWS_RECORD || t.rebuiltBy ? rows : t.rows;
      if (rows !== expected) throw new Error(`table ${t.name}: ${rows} rows restored, the backup holds ${t.rows}`);
      out.push({ name: t.name, rows, rebuiltBy: t.rebuiltBy });
    }
    return out;
  } finally {
    await ch.exec('SYSTEM START MERGES');
  }
}
