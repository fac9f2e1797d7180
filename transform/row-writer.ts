// How the transformer's rows reach ClickHouse, in two steps so that the next chunk can be prepared while
// ClickHouse stores the previous one: prepare() serialises (JavaScript), send() inserts (ClickHouse).
//
// Against a server: the client's JSONEachRow insert over HTTP. Embedded (chDB): the @clickhouse/client
// connection for chDB inlines the insert body into the SQL text, which ClickHouse then parses on one
// thread. Writing the rows as JSONEachRow to a file in memory (/dev/shm) and running
// INSERT … SELECT FROM file() with the table's own column types lets ClickHouse parse in parallel while
// this thread goes on. bench/transform.bench.ts measures the difference. Either way each insert carries its
// insert_deduplication_token, and a failure rejects so the log hands the batch over again.
import fs from 'node:fs';
import path from 'node:path';
import type { ClickHouse } from '../lib/clickhouse.ts';

const COLUMN_RE = /^[a-z_][a-z0-9_]*$/;
const SHM = '/dev/shm';
const FILE_PREFIX = 'cvm-transform-';
let swept = false;

/** Removes files a killed process left behind (its pid is gone); once per process. */
function sweepStaleFiles(dir: string): void {
  if (swept) return;
  swept = true;
  for (const name of fs.readdirSync(dir)) {
    const m = new RegExp(`^${FILE_PREFIX}(\\d+)-`).exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    }
  }
}
/** Measured: below a few hundred rows the client's inline insert is cheaper than writing a file. */
const FILE_MIN_ROWS = 500;

export interface PreparedRows {
  readonly table: string;
  readonly count: number;
  /** Inserts the rows; resolves once ClickHouse has them. Call once. */
  send(token: string): Promise<void>;
  /** Drops the prepared rows without inserting them. */
  discard(): void;
}

export interface RowWriter {
  prepare(table: string, rows: readonly object[]): PreparedRows | null;
}

export function rowWriter(ch: ClickHouse, dataDir: string): RowWriter {
  if (ch.mode === 'server') {
    return {
      prepare: (table, rows) =>
        rows.length === 0 ? null : { table, count: rows.length, send: (token) => ch.insert(table, rows, { insert_deduplication_token: token }), discard: () => {} },
    };
  }
  return new FileRowWriter(ch, dataDir);
}

class FileRowWriter implements RowWriter {
  private readonly dir: string;
  private seq = 0;
  private readonly types = new Map<string, Promise<Map<string, string>>>();

  constructor(private readonly ch: ClickHouse, dataDir: string) {
    // Memory-backed when the system has it; each file lives for one insert.
    this.dir = fs.existsSync(SHM) && fs.statSync(SHM).isDirectory() ? SHM : path.join(dataDir, 'tmp');
    fs.mkdirSync(this.dir, { recursive: true });
    sweepStaleFiles(this.dir);
  }

  private columnTypes(table: string): Promise<Map<string, string>> {
    let t = this.types.get(table);
    if (!t) {
      t = this.ch
        .rows<{ name: string; type: string }>('SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String}', { t: table })
        .then((rows) => new Map(rows.map((r) => [r.name, r.type])));
      t.catch(() => this.types.delete(table));
      this.types.set(table, t);
    }
    return t;
  }

  prepare(table: string, rows: readonly object[]): PreparedRows | null {
    if (rows.length === 0) return null;
    // A few rows (identities, profiles, rejects of one batch): the file round trip costs more than it saves.
    if (rows.length < FILE_MIN_ROWS) return { table, count: rows.length, send: (token) => this.ch.insert(table, rows, { insert_deduplication_token: token }), discard: () => {} };
    const columns = Object.keys(rows[0]!);
    for (const c of columns) if (!COLUMN_RE.test(c)) throw new Error(`row key ${JSON.stringify(c)} is not a column name`);
    // One JSON array of the rows (JSONEachRow reads arrays of objects too): a single JSON.stringify call
    // over rows of one shape is V8's fastest path (measured ~30% less CPU than a line per row, and less
    // than value arrays for JSONCompactEachRow).
    const text = JSON.stringify(rows);
    const file = path.join(this.dir, `${FILE_PREFIX}${process.pid}-${++this.seq}-${table}.json`);
    try {
      fs.writeFileSync(file, text);
    } catch {
      // No room for the file (a small /dev/shm in a container): the client's insert works, only slower.
      fs.rmSync(file, { force: true });
      return { table, count: rows.length, send: (token) => this.ch.insert(table, rows, { insert_deduplication_token: token }), discard: () => {} };
    }
    let used = false;
    return {
      table,
      count: rows.length,
      send: async (token) => {
        if (used) throw new Error('prepared rows were already sent');
        used = true;
        try {
          const types = await this.columnTypes(table);
          const structure = columns.map((c) => {
            const type = types.get(c);
            if (!type) throw new Error(`table ${table} has no column ${c}`);
            return `${c} ${type}`;
          });
          const list = columns.join(', ');
          await this.ch.exec(
            // A SETTINGS clause, so it stays with this query. Rows carry times as 'YYYY-MM-DD hh:mm:ss.sss'
            // (chTime), which the basic parser reads for less than best_effort costs; parallel parsing pays
            // off for big files only (measured: a 5000-row insert takes ~30% less time without it).
            `INSERT INTO {table:Identifier} (${list}) SELECT * FROM file({file:String}, JSONEachRow, {structure:String}) SETTINGS date_time_input_format = 'basic', input_format_parallel_parsing = 0`,
            { table, file, structure: structure.join(', ') },
            { insert_deduplication_token: token },
          );
        } finally {
          fs.rmSync(file, { force: true });
        }
      },
      discard: () => {
        used = true;
        fs.rmSync(file, { force: true });
      },
    };
  }
}
