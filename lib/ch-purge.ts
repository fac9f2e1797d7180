// Physical removal of rows from MergeTree tables, for erasure and key destruction. Three things keep
// deleted data on disk in ClickHouse, and each is handled here:
//  - a lightweight DELETE only masks rows: we use ALTER TABLE … DELETE (a mutation, which rewrites the parts);
//  - a mutation's text is kept in mutation_N.txt: the values to match are put in a Memory table (never on
//    disk) and the mutation says `IN (SELECT v FROM <that table>)`, so no id is written in the predicate;
//  - the parts a mutation replaced stay on disk as outdated parts until old_parts_lifetime passes (8 min by
//    default; the embedded engine runs no cleanup thread at all): a DROP PART forces ClickHouse to clear
//    outdated parts from the filesystem at once, so purgeOutdatedParts attaches a throw-away copy of one row
//    as its own part and drops that part.
import crypto from 'node:crypto';
import type { ClickHouse } from './clickhouse.ts';

const VALUES_PER_INSERT = 10_000;

function ident(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a plain table name: ${JSON.stringify(name)}`);
  return `\`${name}\``;
}

/** A Memory table holding `values` for the duration of `run`; its name is safe to put in SQL. */
export async function withValueTable<T>(ch: ClickHouse, values: string[], run: (table: string) => Promise<T>): Promise<T> {
  const table = `cvm_tmp_${crypto.randomBytes(8).toString('hex')}`;
  await ch.exec(`CREATE TABLE {t:Identifier} (v String) ENGINE = Memory`, { t: table });
  try {
    const unique = [...new Set(values)];
    for (let i = 0; i < unique.length; i += VALUES_PER_INSERT) await ch.insert(table, unique.slice(i, i + VALUES_PER_INSERT).map((v) => ({ v })));
    return await run(table);
  } finally {
    await ch.exec(`DROP TABLE IF EXISTS {t:Identifier} SYNC`, { t: table });
  }
}

/** `col1 IN (…) OR col2 IN (…)` against a value table; every name goes through Identifier parameters. */
function inValues(columns: string[], valueTable: string, params: Record<string, unknown>): string {
  params.vt = valueTable;
  return columns
    .map((c, i) => {
      params[`c${i}`] = c;
      return `toString({c${i}:Identifier}) IN (SELECT v FROM {vt:Identifier})`;
    })
    .join(' OR ');
}

/** Rows whose columns hold one of the values: deleted by a synchronous mutation, then their old parts cleared. */
export async function deleteRowsWhereIn(ch: ClickHouse, table: string, columns: string[], values: string[]): Promise<number> {
  if (!values.length || !columns.length) return 0;
  await withValueTable(ch, values, async (vt) => {
    const params: Record<string, unknown> = { tbl: table };
    const where = inValues(columns, vt, params);
    await ch.exec(`ALTER TABLE {tbl:Identifier} DELETE WHERE ${where} SETTINGS mutations_sync = 2`, params);
  });
  return purgeOutdatedParts(ch, table);
}

/**
 * Sets columns to fixed values on the rows whose match columns hold one of the values (anonymisation:
 * the row stays, the person does not). `set` values travel as parameters.
 */
export async function updateRowsWhereIn(ch: ClickHouse, table: string, columns: string[], values: string[], set: Record<string, string>): Promise<number> {
  if (!values.length || !columns.length || !Object.keys(set).length) return 0;
  await withValueTable(ch, values, async (vt) => {
    const params: Record<string, unknown> = { tbl: table };
    const where = inValues(columns, vt, params);
    const assignments = Object.entries(set).map(([col, v], i) => {
      params[`sv${i}`] = v;
      return `${ident(col)} = {sv${i}:String}`;
    });
    await ch.exec(`ALTER TABLE {tbl:Identifier} UPDATE ${assignments.join(', ')} WHERE ${where} SETTINGS mutations_sync = 2`, params);
  });
  return purgeOutdatedParts(ch, table);
}

async function outdatedParts(ch: ClickHouse, table: string): Promise<number> {
  const [r] = await ch.rows<{ n: string }>(
    `SELECT count() AS n FROM system.parts WHERE database = currentDatabase() AND table = {t:String} AND active = 0`,
    { t: table },
  );
  return Number(r?.n ?? 0);
}

/**
 * Removes the table's outdated parts from disk now; returns how many are left. A table with no rows left is emptied by TRUNCATE
 * (which clears outdated parts too); otherwise one row is copied into a twin table, attached to this table
 * as a part of its own (ATTACH PARTITION FROM runs no materialised view), and that part is dropped.
 */
export async function purgeOutdatedParts(ch: ClickHouse, table: string): Promise<number> {
  for (let attempt = 0; attempt < 5 && (await outdatedParts(ch, table)) > 0; attempt++) {
    const [row] = await ch.rows<{ n: string }>(`SELECT count() AS n FROM {t:Identifier}`, { t: table });
    if (Number(row?.n ?? 0) === 0) {
      await ch.exec(`TRUNCATE TABLE {t:Identifier} SYNC`, { t: table });
      continue;
    }
    const twin = `cvm_tmp_${crypto.randomBytes(8).toString('hex')}`;
    // NOTE: DDL takes no parameters here; both names are checked identifiers (catalogue name, our hex name).
    await ch.exec(`CREATE TABLE ${ident(twin)} AS ${ident(table)}`);
    try {
      await ch.exec(`INSERT INTO {twin:Identifier} SELECT * FROM {t:Identifier} LIMIT 1`, { twin, t: table });
      const [part] = await ch.rows<{ partition_id: string; hash: string }>(
        `SELECT partition_id, hash_of_all_files AS hash FROM system.parts WHERE database = currentDatabase() AND table = {twin:String} AND active LIMIT 1`,
        { twin },
      );
      if (!part) continue;
      const active = () => ch.rows<{ name: string; hash: string }>(
        `SELECT name, hash_of_all_files AS hash FROM system.parts WHERE database = currentDatabase() AND table = {t:String} AND active`,
        { t: table },
      );
      const before = new Set((await active()).map((p) => p.name));
      await ch.exec(`ALTER TABLE ${ident(table)} ATTACH PARTITION ID {pid:String} FROM ${ident(twin)}`, { pid: part.partition_id });
      // NOTE: only the part made from the twin's files (same checksum), never a part someone inserted meanwhile.
      const added = (await active()).filter((p) => !before.has(p.name) && p.hash === part.hash);
      for (const p of added.slice(0, 1)) await ch.exec(`ALTER TABLE {t:Identifier} DROP PART {p:String}`, { t: table, p: p.name });
    } finally {
      await ch.exec(`DROP TABLE IF EXISTS {twin:Identifier} SYNC`, { twin });
    }
  }
  // Left only when a query still reads an old part, or a table-level old_parts_lifetime stops the forced clean-up.
  return outdatedParts(ch, table);
}
