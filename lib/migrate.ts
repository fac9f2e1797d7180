// Numbered migrations from sql/migrations, applied in order, one statement per call, recorded in
// schema_migrations. Safe to re-run: applied versions are skipped, and every statement is IF NOT EXISTS.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { ClickHouse } from './clickhouse.ts';
import { SQL_DIR, splitStatements } from './sql.ts';
import type { Logger } from './logger.ts';

export interface Migration { version: number; name: string; file: string; checksum: string; statements: string[] }

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
    out.push({
      version,
      name: m[2]!,
      file,
      checksum: crypto.createHash('sha256').update(text).digest('hex').slice(0, 16),
      statements: splitStatements(text),
    });
  }
  return out;
}

export async function migrate(ch: ClickHouse, log?: Logger): Promise<number[]> {
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
  for (const m of listMigrations()) {
    const prior = done.get(m.version);
    if (prior !== undefined) {
      if (prior !== m.checksum) log?.warn({ version: m.version, file: m.file }, 'migration changed after it was applied; migrations must not be edited');
      continue;
    }
    for (const statement of m.statements) await ch.exec(statement);
    await ch.insert('schema_migrations', [{ version: m.version, name: m.name, checksum: m.checksum }]);
    applied.push(m.version);
    log?.info({ version: m.version, migration: m.name }, 'migration applied');
  }
  return applied;
}
