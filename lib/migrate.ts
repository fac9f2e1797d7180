// Schema: numbered migrations from sql/migrations, then the views of sql/views.
// Migrations are history: applied in order, one statement per call, recorded in schema_migrations, never
// edited (safe to re-run: applied versions are skipped, and every statement is IF NOT EXISTS).
// Views are not history: each lives once in sql/views/NN_name.sql as CREATE OR REPLACE VIEW and is
// re-created, in file order, whenever the views' text changed or a migration was applied (recorded in
// schema_views), so a fresh store and an upgraded one end up with the same views.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { ClickHouse } from './clickhouse.ts';
import { SQL_DIR, splitStatements } from './sql.ts';
import type { Logger } from './logger.ts';

export interface Migration { version: number; name: string; file: string; checksum: string; statements: string[] }
export interface ViewFile { name: string; file: string; checksum: string; statements: string[] }
export interface SchemaDirs { migrations?: string; views?: string }

/**
 * Migrations edited once, on purpose, when their view bodies moved to sql/views (issue 14): a store that ran
 * the former text has the same tables and gets its views from sql/views, so the former checksum is as good
 * as the current one. Any other difference is still warned about.
 */
export const FORMER_CHECKSUMS: Readonly<Record<number, readonly string[]>> = {
  2: ['4825649131e1fd87'],
  11: ['22688fb43832aa78'],
  12: ['061e3a6317cafded'],
  41: ['ff755f3856bdc748'],
  71: ['e787c6688968bd27'],
  72: ['dae009792e91ca5e'],
};

const checksum = (text: string) => crypto.createHash('sha256').update(text).digest('hex').slice(0, 16);

export function listMigrations(dir = path.join(SQL_DIR, 'migrations')): Migration[] {
  const out: Migration[] = [];
  const seen = new Set<number>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) {
    const m = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!m) throw new Error(`Migration file name ${file} must look like 0001_name.sql`);
    const version = Number(m[1]);
    if (seen.has(version)) throw new Error(`Two migrations share version ${version}`);
    seen.add(version);
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    out.push({ version, name: m[2]!, file, checksum: checksum(text), statements: splitStatements(text) });
  }
  return out;
}

/** The views, in file order (a view comes after the views it reads). Only CREATE OR REPLACE VIEW belongs here. */
export function listViews(dir = path.join(SQL_DIR, 'views')): ViewFile[] {
  const out: ViewFile[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) {
    const m = /^\d{2}_([a-z0-9_]+)\.sql$/.exec(file);
    if (!m) throw new Error(`View file name ${file} must look like 10_name.sql`);
    const name = m[1]!;
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const statements = splitStatements(text);
    const creates = new RegExp(`^CREATE OR REPLACE VIEW ${name} AS\\b`);
    // NOTE: re-run at any time, so a view file must hold nothing but its one view (no tables, no data).
    if (statements.length !== 1 || !creates.test(statements[0]!.replace(/^(--.*\n)*/, ''))) {
      throw new Error(`View file ${file} must hold exactly one statement: CREATE OR REPLACE VIEW ${name} AS ...`);
    }
    if (out.some((v) => v.name === name)) throw new Error(`Two view files define ${name}`);
    out.push({ name, file, checksum: checksum(text), statements });
  }
  return out;
}

async function applyMigrations(ch: ClickHouse, dir: string | undefined, log?: Logger): Promise<number[]> {
  await ch.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
  ) ENGINE = ReplacingMergeTree ORDER BY version`);
  const done = new Map(
    (await ch.rows<{ version: number; checksum: string }>('SELECT version, checksum FROM schema_migrations FINAL')).map((r) => [
      Number(r.version),
      r.checksum,
    ]),
  );
  const applied: number[] = [];
  for (const m of listMigrations(dir)) {
    const prior = done.get(m.version);
    if (prior !== undefined) {
      if (prior !== m.checksum && !FORMER_CHECKSUMS[m.version]?.includes(prior)) {
        log?.warn({ version: m.version, file: m.file }, 'migration changed after it was applied; migrations must not be edited');
      }
      continue;
    }
    for (const statement of m.statements) await ch.exec(statement);
    await ch.insert('schema_migrations', [{ version: m.version, name: m.name, checksum: m.checksum }]);
    applied.push(m.version);
    log?.info({ version: m.version, migration: m.name }, 'migration applied');
  }
  return applied;
}

/**
 * Re-creates every view, in file order, when any view file is new or changed or `tablesChanged`, and drops
 * the views whose file is gone. All of them, not only the changed ones: a view's columns are fixed when it
 * is created (`e.*` in events_resolved, `*` in events_consented), so a view must be re-created after what
 * it reads changed. Returns the names of the views created.
 */
async function applyViews(ch: ClickHouse, dir: string | undefined, tablesChanged: boolean, log?: Logger): Promise<string[]> {
  await ch.exec(`CREATE TABLE IF NOT EXISTS schema_views (
    name String, checksum String, dropped UInt8 DEFAULT 0, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
  ) ENGINE = ReplacingMergeTree(applied_at) ORDER BY name`);
  const recorded = new Map(
    (await ch.rows<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_views FINAL WHERE dropped = 0')).map((r) => [r.name, r.checksum]),
  );
  const views = listViews(dir);
  const gone = [...recorded.keys()].filter((name) => !views.some((v) => v.name === name));
  const changed = views.filter((v) => recorded.get(v.name) !== v.checksum);
  if (!tablesChanged && changed.length === 0 && gone.length === 0) return [];
  for (const name of gone) {
    await ch.exec(`DROP VIEW IF EXISTS ${name}`);
    log?.info({ view: name }, 'view dropped: its file is gone from sql/views');
  }
  for (const v of views) for (const statement of v.statements) await ch.exec(statement);
  const records = [...views.map((v) => ({ name: v.name, checksum: v.checksum, dropped: 0 })), ...gone.map((name) => ({ name, checksum: '', dropped: 1 }))];
  if (records.length) await ch.insert('schema_views', records);
  log?.info({ views: views.length, changed: changed.map((v) => v.name) }, 'views re-created');
  return views.map((v) => v.name);
}

/** Brings the store's schema up to date; returns the versions of the migrations applied now. */
export async function migrate(ch: ClickHouse, log?: Logger, dirs: SchemaDirs = {}): Promise<number[]> {
  const applied = await applyMigrations(ch, dirs.migrations, log);
  await applyViews(ch, dirs.views, applied.length > 0, log);
  return applied;
}
