// ClickHouse tables to and from Native files. chDB cannot run BACKUP/RESTORE here: its File and Disk
// engines need `backups.allowed_path`/`allowed_disk` in the server configuration, which chDB takes only as
// an argument of the process's first connection, and chdb/connection (the @clickhouse/client hook cvm
// uses) passes none. So each table is one `SELECT … INTO OUTFILE … FORMAT Native` (one read, so a snapshot
// of the table's parts at that moment), zstd-compressed by the file name, and comes back by
// `INSERT … SELECT … FROM file(…, 'Native')` into the table re-created from its own CREATE statement.
import fs from 'node:fs';
import path from 'node:path';
import type { ClickHouse } from '../clickhouse.ts';
import { sql } from '../sql.ts';

export interface Column { name: string; type: string }

export interface TableEntry {
  name: string;
  engine: string;
  /** SHOW CREATE TABLE at backup time: the table comes back exactly as it was, then migrate() upgrades it. */
  create: string;
  columns: Column[];
  rows: number;
  /** Relative to the backup directory; null for an empty table or one rebuilt by its materialized view. */
  file: string | null;
  /** The materialized view that fills this table: its rows are rebuilt from the view's source on restore. */
  rebuiltBy: string | null;
}

export interface ViewEntry { name: string; create: string; target: string }

export interface Catalogue {
  tables: Array<{ name: string; engine: string; create: string }>;
  views: ViewEntry[];
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const FILE_SUFFIX = '.native.zst';

function ident(name: string): string {
  if (!IDENT.test(name)) throw new Error(`backup: table name ${JSON.stringify(name)} is not a plain identifier`);
  return `\`${name}\``;
}

/** A ClickHouse string literal (INTO OUTFILE takes no query parameter). */
function literal(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

const structure = (cols: Column[]) => cols.map((c) => `${ident(c.name)} ${c.type}`).join(', ');
const columnList = (cols: Column[]) => cols.map((c) => ident(c.name)).join(', ');

async function showCreate(ch: ClickHouse, name: string): Promise<string> {
  const [row] = await ch.rows<{ statement: string }>(`SHOW CREATE TABLE ${ident(name)}`);
  if (!row) throw new Error(`backup: no CREATE statement for ${name}`);
  return row.statement;
}

/** The target of `CREATE MATERIALIZED VIEW db.v TO db.t …`; null for a view with an inner table. */
export function viewTarget(create: string): string | null {
  const m = /^CREATE MATERIALIZED VIEW\s+\S+\s+TO\s+(\S+)/.exec(create);
  if (!m) return null;
  return m[1]!.split('.').pop()!.replace(/`/g, '');
}

export async function readCatalogue(ch: ClickHouse): Promise<Catalogue> {
  const out: Catalogue = { tables: [], views: [] };
  for (const o of await ch.rows<{ name: string; engine: string }>(sql('backup/objects'))) {
    const create = await showCreate(ch, o.name);
    if (o.engine === 'MaterializedView') {
      const target = viewTarget(create);
      // Its inner table would be restored once from the dump and filled again by the view.
      if (!target) throw new Error(`backup: materialized view ${o.name} has no TO table; only views with TO tables can be backed up`);
      out.views.push({ name: o.name, create, target });
    } else {
      out.tables.push({ name: o.name, engine: o.engine, create });
    }
  }
  return out;
}

/** Dumps one table into `<dir>/clickhouse/<name>.native.zst`; answers its entry (rows counted in the file). */
export async function dumpTable(ch: ClickHouse, dir: string, t: { name: string; engine: string; create: string }): Promise<TableEntry> {
  const columns = await ch.rows<Column>(sql('backup/columns'), { table: t.name });
  const rel = path.join('clickhouse', `${t.name}${FILE_SUFFIX}`);
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  await ch.exec(`SELECT ${columnList(columns)} FROM ${ident(t.name)} INTO OUTFILE ${literal(file)} FORMAT Native`);
  fs.chmodSync(file, 0o600);
  const rows = await fileRows(ch, file, columns);
  if (rows === 0) fs.rmSync(file);
  return { ...t, columns, rows, file: rows === 0 ? null : rel, rebuiltBy: null };
}

export async function fileRows(ch: ClickHouse, file: string, columns: Column[]): Promise<number> {
  const [row] = await ch.rows<{ n: string }>(sql('backup/file-rows'), { file, structure: structure(columns) });
  return Number(row?.n ?? 0);
}

/** The highest log offset per topic among the dumped events rows. */
export async function eventMarks(ch: ClickHouse, dir: string, events: TableEntry): Promise<Map<string, number>> {
  if (!events.file) return new Map();
  const rows = await ch.rows<{ topic: string; mark: string }>(sql('backup/events-marks'), { file: path.join(dir, events.file), structure: structure(events.columns) });
  return new Map(rows.map((r) => [r.topic, Number(r.mark)]));
}

/** CREATE statements run as they were taken: an empty store gets the backup's schema version. */
export async function createTable(ch: ClickHouse, create: string): Promise<void> {
  await ch.exec(create);
}

/** optimize_on_insert off: the rows go back as they were, row versions a Replacing table had not merged yet included. */
export async function loadTable(ch: ClickHouse, dir: string, t: TableEntry): Promise<void> {
  if (!t.file || t.rebuiltBy) return;
  const cols = columnList(t.columns);
  await ch.exec(
    `INSERT INTO ${ident(t.name)} (${cols}) SELECT ${cols} FROM file({file:String}, 'Native', {structure:String})`,
    { file: path.join(dir, t.file), structure: structure(t.columns) },
    { optimize_on_insert: 0 },
  );
}

export async function countRows(ch: ClickHouse, name: string): Promise<number> {
  const [row] = await ch.rows<{ n: string }>(`SELECT count() AS n FROM ${ident(name)}`);
  return Number(row?.n ?? 0);
}
