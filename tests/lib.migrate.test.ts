// The migrator on the real engine: numbered migrations, then the views of sql/views. A fresh store and one
// migrated with the migration texts from before the views moved to sql/views (commit FORMER) end up with
// the same schema, and the upgrade warns about no edited migration.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectClickHouse, type ClickHouse } from '../lib/clickhouse.ts';
import { testConfig } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';
import { FORMER_CHECKSUMS, listMigrations, listViews, migrate } from '../lib/migrate.ts';
import { tempDir } from './helpers/runtime.ts';

/** The last commit whose migrations still held the view bodies (0002, 0011, 0012, 0041, 0071, 0072). */
const FORMER = '59e44ba';

function formerMigrations(): string | null {
  try {
    const files = execFileSync('git', ['ls-tree', '--name-only', `${FORMER}:sql/migrations`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter(Boolean);
    const dir = tempDir('cvm-former-migrations-');
    for (const f of files) fs.writeFileSync(path.join(dir, f), execFileSync('git', ['show', `${FORMER}:sql/migrations/${f}`], { encoding: 'utf8' }));
    return dir;
  } catch {
    return null; // not a git checkout with that commit (a shallow clone, an unpacked tarball)
  }
}
const former = formerMigrations();

function capturingLog() {
  const lines: Array<{ level: number; msg: string; version?: number; changed?: string[] }> = [];
  const log = initLogging({ level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
  return { log, lines, warnings: () => lines.filter((l) => l.level >= 40) };
}

async function withStore<T>(fn: (ch: ClickHouse) => Promise<T>): Promise<T> {
  const ch = await connectClickHouse(testConfig({ CVM_DATA_DIR: tempDir('cvm-migrate-') }));
  try {
    return await fn(ch);
  } finally {
    await ch.close();
  }
}

/** Every table and view of the store as ClickHouse states it (what was created, not the files). */
async function schemaOf(ch: ClickHouse): Promise<Record<string, string>> {
  const rows = await ch.rows<{ name: string; q: string }>('SELECT name, create_table_query AS q FROM system.tables WHERE database = currentDatabase() ORDER BY name');
  return Object.fromEntries(rows.map((r) => [r.name, r.q]));
}

describe('views in sql/views', () => {
  it('each file holds one CREATE OR REPLACE VIEW of its own name, and no migration creates a plain view', () => {
    const views = listViews();
    expect(views.map((v) => v.name)).toEqual(expect.arrayContaining(['identity_resolution', 'events_resolved', 'sessions', 'customer_features']));
    for (const m of listMigrations()) {
      for (const s of m.statements) expect(s.replace(/--.*$/gm, ''), m.file).not.toMatch(/CREATE\s+(OR\s+REPLACE\s+)?VIEW/i);
    }
  });

  it('creates the views on a fresh store, and re-creates them only when something changed', async () => {
    await withStore(async (ch) => {
      const first = capturingLog();
      expect((await migrate(ch, first.log)).length).toBe(listMigrations().length);
      expect(first.warnings()).toEqual([]);
      const schema = await schemaOf(ch);
      for (const v of listViews()) expect(schema[v.name], v.name).toMatch(/^CREATE VIEW/);

      const again = capturingLog();
      expect(await migrate(ch, again.log)).toEqual([]);
      expect(again.lines.filter((l) => l.msg === 'views re-created')).toEqual([]);

      // A changed view file is picked up; a view whose file is gone is dropped.
      const views = tempDir('cvm-views-');
      for (const v of listViews()) fs.copyFileSync(path.join('sql/views', v.file), path.join(views, v.file));
      fs.appendFileSync(path.join(views, '20_events_resolved.sql'), '-- changed\n');
      fs.rmSync(path.join(views, '41_customer_features.sql'));
      const changed = capturingLog();
      await migrate(ch, changed.log, { views });
      expect(changed.lines.find((l) => l.msg === 'views re-created')?.changed).toEqual(['events_resolved']);
      expect(Object.keys(await schemaOf(ch))).not.toContain('customer_features');
      await migrate(ch);
      expect(await schemaOf(ch)).toEqual(schema);
    });
  });
});

describe.skipIf(former === null)('a store migrated before the views moved to sql/views', () => {
  it('accepts the edited migrations without a warning and ends up with the schema of a fresh store', async () => {
    const fresh = await withStore(async (ch) => {
      await migrate(ch);
      return schemaOf(ch);
    });
    const upgraded = await withStore(async (ch) => {
      const none = tempDir('cvm-no-views-');
      await migrate(ch, undefined, { migrations: former!, views: none }); // what the former migrator did
      const old = await schemaOf(ch);
      expect(old.events_resolved).toMatch(/^CREATE VIEW/);
      expect(old.identity_resolution).toBeUndefined();
      const up = capturingLog();
      expect(await migrate(ch, up.log)).toEqual([]);
      expect(up.warnings()).toEqual([]);
      return schemaOf(ch);
    });
    expect(upgraded).toEqual(fresh);
  });

  it('lists the former checksum of each edited migration', () => {
    const then = listMigrations(former!);
    const now = new Map(listMigrations().map((m) => [m.version, m.checksum]));
    const edited = then.filter((m) => now.get(m.version) !== m.checksum);
    expect(edited.map((m) => m.version)).toEqual(Object.keys(FORMER_CHECKSUMS).map(Number));
    for (const m of edited) expect(FORMER_CHECKSUMS[m.version]).toContain(m.checksum);
  });
});
