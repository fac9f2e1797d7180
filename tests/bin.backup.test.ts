// `cvm backup` and `cvm restore` as an operator runs them: on a stopped store (the CLI opens it itself),
// against a running `cvm start` (the CLI asks it over the admin API), and a restore that refuses a data
// directory that holds anything unless --force (which moves it aside, never deletes it).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { post } from './api.fixture.ts';
import { ADMIN, tempDir, testRuntime } from './helpers/runtime.ts';
import { event } from './helpers/events.ts';
import { waitForDrain } from '../bin/runtime.ts';
import { runCvm, startCvm, waitForHealthyDrain } from './helpers/cvm-process.ts';
import { readManifest } from '../lib/backup/manifest.ts';
import { listBackups, pruneBackups } from '../lib/backup/retention.ts';
import { testConfig } from '../lib/config.ts';
import { connectClickHouse } from '../lib/clickhouse.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function root(): string {
  const d = tempDir('cvm-bin-backup-');
  dirs.push(d);
  return d;
}

async function eventCount(dataDir: string): Promise<number> {
  const ch = await connectClickHouse(testConfig({ CVM_DATA_DIR: dataDir }));
  try {
    const [row] = await ch.rows<{ n: string }>('SELECT count() AS n FROM events');
    return Number(row?.n);
  } finally {
    await ch.close();
  }
}

describe('cvm backup / cvm restore (CLI)', () => {
  it('backs up a stopped store, restores it into an empty directory, and refuses a non-empty one unless --force', async () => {
    const r = root();
    const data = path.join(r, 'data');
    const rt = await testRuntime({ CVM_DATA_DIR: data });
    await post(rt, Array.from({ length: 40 }, (_, i) => event('page_view', { anonymous_id: `cli-anon-${i % 7}` })));
    expect(await waitForDrain(rt, 60_000)).toBe(true);
    await rt.close();

    const backups = path.join(r, 'backups');
    const made = await runCvm(['backup', '--to', backups, '--json'], { CVM_DATA_DIR: data, CVM_ADMIN_KEY: ADMIN });
    expect(made.code, made.stderr).toBe(0);
    const out = JSON.parse(made.stdout) as { path: string; via: string; tables: number };
    expect(out.via).toBe('store');
    expect(path.dirname(out.path)).toBe(backups);
    const m = readManifest(out.path);
    expect(m.tables.find((t) => t.name === 'events')!.rows).toBe(40);
    expect(m.key_files).toEqual(expect.arrayContaining(['encryption.key', 'identity.key']));
    expect(fs.statSync(out.path).mode & 0o077).toBe(0);
    // A backup inside the data directory is refused (it would be copied into the next one).
    const inside = await runCvm(['backup', '--to', path.join(data, 'b')], { CVM_DATA_DIR: data });
    expect(inside.code).toBe(1);
    expect(inside.stderr).toContain('inside the data directory');

    const target = path.join(r, 'restored');
    const restored = await runCvm(['restore', out.path], { CVM_DATA_DIR: target });
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`into ${target}`);
    expect(fs.existsSync(path.join(target, 'RESTORING'))).toBe(false);
    expect(fs.readFileSync(path.join(target, 'encryption.key'), 'utf8')).toBe(fs.readFileSync(path.join(data, 'encryption.key'), 'utf8'));
    expect(await eventCount(target)).toBe(40);

    // Not onto a directory that holds a store: nothing is touched.
    const before = fs.readdirSync(data).sort();
    const refused = await runCvm(['restore', out.path], { CVM_DATA_DIR: data });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is not empty');
    expect(refused.stderr).toContain('--force');
    expect(fs.readdirSync(data).sort()).toEqual(before);
    const notBackup = await runCvm(['restore', r], { CVM_DATA_DIR: path.join(r, 'other') });
    expect(notBackup.code).toBe(1);
    expect(notBackup.stderr).toContain('is not a cvm backup');

    // --force: the former directory is moved aside, the backup restored in its place.
    const forced = await runCvm(['restore', out.path, '--force', '--json'], { CVM_DATA_DIR: target });
    expect(forced.code, forced.stderr).toBe(0);
    const aside = (JSON.parse(forced.stdout) as { movedAside: string }).movedAside;
    expect(aside.startsWith(`${target}.replaced-`)).toBe(true);
    expect(fs.existsSync(path.join(aside, 'clickhouse'))).toBe(true);
    expect(await eventCount(target)).toBe(40);
  }, 240_000);

  it('keeps the newest CVM_BACKUP_KEEP complete backups and validates the settings', () => {
    const dir = root();
    const names = ['cvm-backup-20260101T000000Z', 'cvm-backup-20260102T000000Z', 'cvm-backup-20260103T000000Z'];
    for (const n of names) {
      fs.mkdirSync(path.join(dir, n));
      fs.writeFileSync(path.join(dir, n, 'manifest.json'), '{}');
    }
    fs.mkdirSync(path.join(dir, 'cvm-backup-by-hand')); // no manifest: never counted, never deleted
    expect(pruneBackups(dir, 2)).toEqual([path.join(dir, names[0]!)]);
    expect(fs.readdirSync(dir).sort()).toEqual(['cvm-backup-20260102T000000Z', 'cvm-backup-20260103T000000Z', 'cvm-backup-by-hand']);
    expect(testConfig({ CVM_DATA_DIR: '/srv/cvm/data' }).backup).toEqual({ dir: '/srv/cvm/data-backups', cron: 'off', keep: 7 });
    expect(() => testConfig({ CVM_DATA_DIR: '/srv/cvm/data', CVM_BACKUP_DIR: '/srv/cvm/data/backups' })).toThrow(/CVM_BACKUP_DIR.*outside CVM_DATA_DIR/);
    expect(() => testConfig({ CVM_BACKUP_CRON: 'nightly' })).toThrow(/CVM_BACKUP_CRON/);
    expect(() => testConfig({ CVM_BACKUP_KEEP: '0' })).toThrow(/CVM_BACKUP_KEEP/);
  });

  it('asks a running cvm to make the backup, and refuses to restore onto its directory', async () => {
    const r = root();
    const data = path.join(r, 'data');
    const backups = path.join(r, 'backups');
    const proc = await startCvm({ CVM_DATA_DIR: data, CVM_ADMIN_KEY: ADMIN, CVM_DEMO_WRITE_KEY: 'wk_test_site' });
    try {
      const res = await fetch(`${proc.url}/v1/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-cvm-key': 'wk_test_site' },
        body: JSON.stringify({ batch: Array.from({ length: 12 }, () => event('page_view', { anonymous_id: 'live-anon' })) }),
      });
      expect(res.status).toBe(200);
      await waitForHealthyDrain(proc.url);
      // The admin key is read from CVM_ADMIN_KEY here; <dataDir>/admin.key serves when it is not set.
      const made = await runCvm(['backup', '--json'], { CVM_DATA_DIR: data, CVM_ADMIN_KEY: ADMIN, CVM_BACKUP_DIR: backups });
      expect(made.code, made.stderr).toBe(0);
      const out = JSON.parse(made.stdout) as { path: string; via: string; rows: number };
      expect(out.via).toBe('server');
      expect(readManifest(out.path).tables.find((t) => t.name === 'events')!.rows).toBe(12);
      expect(listBackups(backups).map((b) => b.path)).toEqual([out.path]);

      const refused = await runCvm(['restore', out.path, '--force'], { CVM_DATA_DIR: data });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('a running cvm');
      expect(pruneBackups(backups, 1)).toEqual([]);
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  }, 240_000);
});
