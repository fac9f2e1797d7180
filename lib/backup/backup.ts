// `cvm backup`: the embedded store (chDB tables, the LMDB event log, keys, settings) into a new directory,
// consistent while events stream in. The order is the point (docs/operations.md "Backup and restore"):
//   1. the log's committed offsets are read,
//   2. `events` is dumped, then every other table but subject_keys (MV targets are rebuilt on restore),
//   3. the log is copied, and its offsets moved back to what the dumps hold (log-copy.ts rewindCopy),
//   4. subject_keys is dumped last: every record in the log copy is sealed under a key it holds.
// Whatever the tables lack is then in the log copy, past its committed offset, and the restored
// transformer stores it exactly once (its high-water marks skip what the dumps already hold).
import fs from 'node:fs';
import path from 'node:path';
import type { ClickHouse } from '../clickhouse.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { keyReport, copyKeyFiles, redactedConfig } from './keys.ts';
import { openLogRoot } from '../eventlog/embedded-layout.ts';
import { copyLog, hasLog, LOG_FILE, LogGapError, readOffsets, rewindCopy, type GroupOffset, type LogPosition } from './log-copy.ts';
import { BACKUP_FORMAT, BACKUP_PREFIX, CONFIG_FILE, cvmVersion, writeManifest, type BackupManifest } from './manifest.ts';
import { dumpTable, eventMarks, readCatalogue, type TableEntry } from './tables.ts';
import { insideOrSame } from './paths.ts';

export type BackupStep = 'offsets' | 'events' | 'tables' | 'log' | 'keys';

export interface BackupOptions {
  /** Parent directory: the backup is a new `cvm-backup-<time>` directory in it (default CVM_BACKUP_DIR). */
  to?: string;
  /** Called after each step (tests use it to write in between). */
  afterStep?: (step: BackupStep) => Promise<void>;
}

export interface BackupResult {
  path: string;
  manifest: BackupManifest;
  bytes: number;
}

/** Why this store cannot be backed up by cvm (a ClickHouse server, Kafka): said to the operator as it is. */
export class BackupUnsupportedError extends Error {}
/** Another backup of this process is running. */
export class BackupBusyError extends Error {}
/** The target directory is not acceptable (inside the data directory, not absolute). */
export class BackupTargetError extends Error {}

const EVENTS = 'events';
const KEYS_TABLE = 'subject_keys';
const ATTEMPTS = 3;

let running: Promise<unknown> | null = null;

export function unsupportedReason(config: Config): string | null {
  if (config.clickhouse.url) {
    return 'cvm backup covers the embedded store (chDB); with CLICKHOUSE_URL the tables live on that server: back them up there with BACKUP DATABASE … TO Disk/S3 (backups.allowed_path in its configuration), and the encryption key with your secrets';
  }
  if (config.kafka) {
    return 'cvm backup covers the embedded event log; with KAFKA_BROKERS the log lives in Kafka, which keeps it by its own replication and retention';
  }
  return null;
}

export function backupName(at: Date): string {
  return `${BACKUP_PREFIX}${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

/** One backup at a time per process: a second call while one runs gets BackupBusyError. */
export async function createBackup(src: { config: Config; ch: ClickHouse; log: Logger }, opts: BackupOptions = {}): Promise<BackupResult> {
  const why = unsupportedReason(src.config);
  if (why) throw new BackupUnsupportedError(why);
  if (running) throw new BackupBusyError('a backup is running already');
  const work = backupWithRetry(src, opts);
  running = work;
  try {
    return await work;
  } finally {
    running = null;
  }
}

async function backupWithRetry(src: { config: Config; ch: ClickHouse; log: Logger }, opts: BackupOptions): Promise<BackupResult> {
  const parent = path.resolve(opts.to ?? src.config.backup.dir);
  if (insideOrSame(src.config.dataDir, parent)) throw new BackupTargetError(`${parent} is inside the data directory ${src.config.dataDir}; backups go outside it`);
  fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
  for (let attempt = 1; ; attempt++) {
    const started = new Date();
    const name = uniqueName(parent, backupName(started));
    const partial = path.join(parent, `.${name}.partial`);
    fs.mkdirSync(partial, { mode: 0o700 });
    try {
      const manifest = await takeBackup(src, partial, name, started, opts);
      const final = path.join(parent, name);
      fs.renameSync(partial, final);
      src.log.info({ backup: final, tables: manifest.tables.length, took_ms: manifest.took_ms }, 'backup made');
      return { path: final, manifest, bytes: dirBytes(final) };
    } catch (err) {
      fs.rmSync(partial, { recursive: true, force: true });
      if (err instanceof LogGapError && attempt < ATTEMPTS) {
        src.log.warn({ err, attempt }, 'backup: the log was trimmed under it; taking it again');
        continue;
      }
      throw err;
    }
  }
}

function uniqueName(parent: string, base: string): string {
  let name = base;
  for (let i = 2; fs.existsSync(path.join(parent, name)) || fs.existsSync(path.join(parent, `.${name}.partial`)); i++) name = `${base}-${i}`;
  return name;
}

async function takeBackup(src: { config: Config; ch: ClickHouse; log: Logger }, dir: string, name: string, started: Date, opts: BackupOptions): Promise<BackupManifest> {
  const { config, ch } = src;
  const order: string[] = [];
  const step = async (s: BackupStep) => {
    order.push(s);
    await opts.afterStep?.(s);
  };
  const logDir = path.join(config.dataDir, 'log');
  const root = hasLog(logDir) ? openLogRoot(logDir) : null;
  try {
    const before: GroupOffset[] = root ? readOffsets(root) : [];
    await step('offsets');

    const catalogue = await readCatalogue(ch);
    const rebuilt = new Map(catalogue.views.map((v) => [v.target, v.name]));
    const tables: TableEntry[] = [];
    const dump = async (t: (typeof catalogue.tables)[number]) => {
      const by = rebuilt.get(t.name);
      // A materialized view's table is filled again from its source on restore, so it matches that dump.
      tables.push(by ? { ...t, columns: [], rows: 0, file: null, rebuiltBy: by } : await dumpTable(ch, dir, t));
    };
    const events = catalogue.tables.find((t) => t.name === EVENTS);
    if (events) await dump(events);
    await step('events');
    const keysTable = catalogue.tables.find((t) => t.name === KEYS_TABLE);
    for (const t of catalogue.tables) if (t !== events && t !== keysTable) await dump(t);
    await step('tables');

    let positions: LogPosition[] = [];
    if (root) {
      await copyLog(root, dir);
      const eventsEntry = tables.find((t) => t.name === EVENTS);
      positions = await rewindCopy(dir, before, eventsEntry ? await eventMarks(ch, dir, eventsEntry) : new Map());
    }
    await step('log');
    if (keysTable) await dump(keysTable);
    await step('keys');

    const keyFiles = copyKeyFiles(config.dataDir, dir);
    fs.writeFileSync(path.join(dir, CONFIG_FILE), `${JSON.stringify(redactedConfig(config), null, 2)}\n`, { mode: 0o600 });
    const [ver] = await ch.rows<{ v: string }>('SELECT version() AS v');
    const migrations = tables.some((t) => t.name === 'schema_migrations')
      ? (await ch.rows<{ version: number }>('SELECT DISTINCT version FROM schema_migrations ORDER BY version')).map((r) => Number(r.version))
      : [];
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      name,
      created_at: started.toISOString(),
      cvm_version: cvmVersion(),
      clickhouse_version: ver?.v ?? 'unknown',
      data_dir: config.dataDir,
      took_ms: Date.now() - started.getTime(),
      order,
      tables,
      materialized_views: catalogue.views,
      migrations,
      log: { file: root ? LOG_FILE : null, positions },
      keys: keyReport(config),
      key_files: keyFiles,
    };
    writeManifest(dir, manifest);
    return manifest;
  } finally {
    await root?.close();
  }
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n += fs.statSync(path.join(e.parentPath, e.name)).size;
  return n;
}
