// How the embedded event log lays its data out in LMDB, in one place: lib/eventlog/embedded.ts writes it,
// the backup's log copy (lib/backup/log-copy.ts) reads and rewinds it.
//   meta (ordered-binary):  next:<topic> → the next offset; offset:<group>:<topic> → the group's committed offset
//   topic:<name> (msgpack): offset → record
import { open, type Database, type RootDatabase } from 'lmdb';

// NOTE: eventTurnBatching off: with it, lmdb commits each event turn's writes under a promise no caller
// holds, and a failed commit (disk full) becomes an unhandled rejection that kills the process. Every opener
// uses the same options: inside one process lmdb-js hands out the environment already open.
const OPEN_OPTIONS = { maxDbs: 64, compression: false, eventTurnBatching: false } as const;

export function openLogRoot(dir: string): RootDatabase {
  return open({ path: dir, ...OPEN_OPTIONS });
}

export function metaDb(root: RootDatabase): Database<number, string> {
  return root.openDB<number, string>({ name: 'meta', encoding: 'ordered-binary' });
}

export function topicDb<V>(root: RootDatabase, topic: string): Database<V, number> {
  return root.openDB<V, number>({ name: `topic:${topic}`, encoding: 'msgpack' });
}

export const nextKey = (topic: string): string => `next:${topic}`;
export const offsetKey = (group: string, topic: string): string => `offset:${group}:${topic}`;

/** Every committed offset in `meta`: group, topic and offset. */
export function* committedOffsets(meta: Database<number, string>): Generator<{ group: string; topic: string; committed: number }> {
  for (const { key, value } of meta.getRange({ start: 'offset:', end: 'offset;' })) {
    const rest = String(key).slice('offset:'.length);
    // Topic names never hold ':' (Kafka's rule, which cvm's topics follow); group names might.
    const at = rest.lastIndexOf(':');
    yield { group: rest.slice(0, at), topic: rest.slice(at + 1), committed: value };
  }
}
