// manifest.json: what a backup holds and in which order it was taken. Written last, so a directory
// without one is not a backup (an interrupted one is also still named `.…partial`).
import fs from 'node:fs';
import path from 'node:path';
import { SQL_DIR } from '../sql.ts';
import type { KeyReport } from './keys.ts';
import type { LogPosition } from './log-copy.ts';
import type { TableEntry, ViewEntry } from './tables.ts';

export const BACKUP_FORMAT = 1;
export const MANIFEST = 'manifest.json';
export const CONFIG_FILE = 'config.json';
export const BACKUP_PREFIX = 'cvm-backup-';

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  name: string;
  created_at: string;
  cvm_version: string;
  clickhouse_version: string;
  data_dir: string;
  took_ms: number;
  /** The steps in the order they were taken (docs/operations.md "Backup and restore" says why). */
  order: string[];
  tables: TableEntry[];
  materialized_views: ViewEntry[];
  /** Versions in schema_migrations: restore re-creates this schema, then migrate() upgrades it. */
  migrations: number[];
  log: { file: string | null; positions: LogPosition[] };
  keys: KeyReport;
  key_files: string[];
}

export function cvmVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(SQL_DIR, '..', 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function writeManifest(dir: string, m: BackupManifest): void {
  fs.writeFileSync(path.join(dir, MANIFEST), `${JSON.stringify(m, null, 2)}\n`, { mode: 0o600 });
}

export class NotABackupError extends Error {}

export function readManifest(dir: string): BackupManifest {
  let m: BackupManifest;
  try {
    m = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as BackupManifest;
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `it has no ${MANIFEST} (not a backup, or one that did not finish)` : (err as Error).message;
    throw new NotABackupError(`${dir} is not a cvm backup: ${why}`);
  }
  if (m.format !== BACKUP_FORMAT) throw new NotABackupError(`${dir}: backup format ${String(m.format)}, this cvm reads format ${BACKUP_FORMAT}`);
  for (const f of [...m.tables.map((t) => t.file), m.log.file, ...m.key_files.map((k) => path.join('keys', k))]) {
    if (f && !fs.existsSync(path.join(dir, f))) throw new NotABackupError(`${dir}: ${f} is missing`);
  }
  return m;
}
