// CVM_BACKUP_KEEP: after a scheduled backup the newest N complete backups in the directory stay and older
// ones go. Names sort by time (cvm-backup-YYYYMMDDTHHMMSSZ); only complete backups (with a manifest) are
// counted and deleted, so a directory someone put there by hand is never touched. Leftovers of backups
// that died (`.cvm-backup-….partial`) older than a day go too.
import fs from 'node:fs';
import path from 'node:path';
import { BACKUP_PREFIX, MANIFEST } from './manifest.ts';

const STALE_PARTIAL_MS = 24 * 3600_000;

export interface BackupListing { name: string; path: string; created_at: string | null }

export function listBackups(dir: string): BackupListing[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((n) => n.startsWith(BACKUP_PREFIX) && fs.existsSync(path.join(dir, n, MANIFEST)))
    .sort()
    .map((name) => {
      let created: string | null = null;
      try {
        created = (JSON.parse(fs.readFileSync(path.join(dir, name, MANIFEST), 'utf8')) as { created_at?: string }).created_at ?? null;
      } catch {
        created = null;
      }
      return { name, path: path.join(dir, name), created_at: created };
    });
}

/** Deletes all but the newest `keep` backups; answers the paths removed. */
export function pruneBackups(dir: string, keep: number, now = Date.now()): string[] {
  const removed: string[] = [];
  const all = listBackups(dir);
  for (const b of all.slice(0, Math.max(0, all.length - keep))) {
    fs.rmSync(b.path, { recursive: true, force: true });
    removed.push(b.path);
  }
  for (const n of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const p = path.join(dir, n);
    if (n.startsWith(`.${BACKUP_PREFIX}`) && n.endsWith('.partial') && now - fs.statSync(p).mtimeMs > STALE_PARTIAL_MS) {
      fs.rmSync(p, { recursive: true, force: true });
      removed.push(p);
    }
  }
  return removed;
}
