// The embedded event log (LMDB) in a backup: a copy through LMDB's own mdb_env_copy (a read transaction,
// so a consistent snapshot while appends and commits go on), then its committed offsets moved back to
// what the table dumps hold. The layout is the embedded log's own (lib/eventlog/embedded-layout.ts), opened
// with the same options: inside a process that has the log open, lmdb-js hands out the same environment
// (it refuses to open one twice), so this is safe while cvm runs.
import fs from 'node:fs';
import path from 'node:path';
import type { RootDatabase } from 'lmdb';
import { committedOffsets, metaDb, nextKey, offsetKey, openLogRoot, topicDb } from '../eventlog/embedded-layout.ts';

export const LOG_FILE = path.join('log', 'data.mdb');

export interface GroupOffset { group: string; topic: string; committed: number }

export interface LogPosition extends GroupOffset {
  /** The group's committed offset in the live log before the first table was dumped. */
  committedBefore: number;
  /** What the copy had committed, before the rewind. */
  committedInCopy: number;
  /** The lowest offset the copy still holds, and the next one it would give out. */
  low: number;
  next: number;
}

/** The log lost records the tables do not hold either: retention trimmed them while the backup ran. */
export class LogGapError extends Error {}

export function hasLog(logDir: string): boolean {
  return fs.existsSync(path.join(logDir, 'data.mdb'));
}

/** Every consumer group's committed offset, per topic. */
export function readOffsets(root: RootDatabase): GroupOffset[] {
  return [...committedOffsets(metaDb(root))];
}

function bounds(root: RootDatabase, topic: string): { low: number; next: number } {
  const next = metaDb(root).get(nextKey(topic)) ?? 0;
  for (const key of topicDb<unknown>(root, topic).getKeys({ limit: 1 })) return { low: key, next };
  return { low: next, next };
}

export async function copyLog(root: RootDatabase, backupDir: string): Promise<void> {
  const dest = path.dirname(path.join(backupDir, LOG_FILE));
  fs.mkdirSync(dest, { recursive: true, mode: 0o700 });
  // Compacted: free pages (which may still hold removed records) are not copied.
  await root.backup(dest, true);
  fs.chmodSync(path.join(backupDir, LOG_FILE), 0o600);
}

/**
 * Moves each group of the copy back to the first record the dumped tables may lack, so the restored
 * transformer stores it, and everything after it, exactly once (its high-water marks skip what is stored).
 * Records below `committedBefore` were stored before any table was dumped (offsets are committed after
 * the inserts); records up to the events mark were stored completely (events are inserted last).
 */
export async function rewindCopy(backupDir: string, before: GroupOffset[], marks: Map<string, number>): Promise<LogPosition[]> {
  const root = openLogRoot(path.dirname(path.join(backupDir, LOG_FILE)));
  try {
    const out: LogPosition[] = [];
    for (const g of readOffsets(root)) {
      const committedBefore = before.find((b) => b.group === g.group && b.topic === g.topic)?.committed ?? 0;
      const stored = Math.max(committedBefore, (marks.get(g.topic) ?? -1) + 1);
      const committed = Math.min(g.committed, stored);
      const { low, next } = bounds(root, g.topic);
      if (low > committed) {
        throw new LogGapError(`the log dropped records ${committed}..${low - 1} of ${g.topic} while the backup ran (retention under pressure); the tables do not hold all of them`);
      }
      if (committed !== g.committed) await metaDb(root).put(offsetKey(g.group, g.topic), committed);
      out.push({ ...g, committed, committedBefore, committedInCopy: g.committed, low, next });
    }
    return out;
  } finally {
    await root.close();
  }
}
