// The restricted session refuses on its own, with no guard in front: these run straight on
// ch.openRestricted() (what the analyst's SQL runs on), so they hold even if the TypeScript checks were
// wrong or removed. Measured on embedded chDB; what the engine does NOT refuse there (system tables, the
// scalar file() function, view()/merge() over other tables: chDB has no users or grants) is left to the
// guard's allow-list and covered by tests/security.sql-corpus.test.ts.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClickHouse, type ClickHouse, type RestrictedSession } from '../lib/clickhouse.ts';
import { testConfig } from '../lib/config.ts';
import { QUERYABLE_TABLES, querySettings } from '../api/query/sql-guard.ts';
import { SQL_DIR } from '../lib/sql.ts';
import { tempDir } from './helpers/runtime.ts';

let ch: ClickHouse;
let dir: string;
let session: RestrictedSession;
const secret = `engine-${crypto.randomBytes(10).toString('hex')}`;
let secretFile: string;

beforeAll(async () => {
  dir = tempDir('cvm-sql-engine-');
  secretFile = path.join(dir, 'encryption.key.planted');
  fs.writeFileSync(secretFile, `${secret}\n`);
  ch = await connectClickHouse(testConfig({ CVM_DATA_DIR: dir }));
  await ch.exec('CREATE TABLE IF NOT EXISTS probe (x String) ENGINE = MergeTree ORDER BY x');
  await ch.exec(`INSERT INTO probe VALUES ('a')`);
  session = await ch.openRestricted(querySettings({ maxRows: 10, maxSeconds: 5, maxMemoryBytes: 256 * 1024 ** 2 }, 1, 5));
});
afterAll(async () => {
  await session?.close();
  await ch?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const run = (sql: string) => session.json(sql, 'JSONEachRow');

describe('the restricted session (engine-enforced)', () => {
  const refusedByEngine = () => [
    `SELECT * FROM file('${secretFile}', 'LineAsString')`,
    `SELECT * FROM url('http://127.0.0.1:9/x', 'LineAsString')`,
    `SELECT * FROM remote('127.0.0.1', default.probe)`,
    `SELECT * FROM s3('http://127.0.0.1:9/cvm-bucket/x.csv', 'LineAsString')`,
    `SELECT * FROM executable('cat ${secretFile}', 'LineAsString', 'line String')`,
    `SELECT * FROM dictionary('d')`,
    `SELECT * FROM filesystem('${dir}')`,
    `SELECT * FROM sqlite('${secretFile}', 't')`,
    `SELECT * FROM mysql('127.0.0.1:9', 'd', 't', 'u', 'p')`,
    `SELECT * FROM postgresql('127.0.0.1:9', 'd', 't', 'u', 'p')`,
    `SELECT * FROM format(LineAsString, 'x')`,
    `SELECT * FROM icebergLocal('${dir}')`,
    `INSERT INTO probe VALUES ('b')`,
    `CREATE TABLE t2 (a UInt8) ENGINE = Memory`,
    `CREATE TEMPORARY TABLE t3 (a UInt8)`,
    `DROP TABLE probe`,
    `ALTER TABLE probe DELETE WHERE 1`,
    `SELECT 1 SETTINGS readonly = 0`,
    `SELECT 1 SETTINGS max_result_rows = 0`,
    `SELECT 1 SETTINGS max_execution_time = 3600`,
    `SET max_memory_usage = 0`,
    `SELECT demangle('x')`,
  ];

  it('refuses table functions that read outside the database, writes, DDL and any change to its limits', async () => {
    for (const sql of refusedByEngine()) {
      let answer: unknown;
      let error = '';
      try {
        answer = await run(sql);
      } catch (err) {
        error = (err as Error).message;
      }
      expect(answer, sql).toBeUndefined();
      expect(error, sql).toMatch(/readonly|READONLY|Introspection functions are disabled/);
      expect(error, sql).not.toContain(secret);
    }
    expect(await ch.rows('SELECT x FROM probe ORDER BY x')).toEqual([{ x: 'a' }]);
  });

  it('enforces the row and time limits itself, whatever the query', async () => {
    await expect(run(`SELECT x FROM probe ARRAY JOIN range(100) AS r`)).rejects.toThrow(/Limit for result exceeded/);
    // sleep() is checked against max_execution_time: stopped by the engine, not by a JS timer. (Distinct
    // arguments: identical sleep(3) calls are computed once.)
    await expect(run(`SELECT sleep(3) + sleep(2.9) + sleep(2.8) AS s`)).rejects.toThrow(/Timeout exceeded/);
  });

  it('keeps its settings to itself: the main session stays writable with default limits', async () => {
    const [main] = await ch.rows<{ ro: string; rows: string }>(`SELECT toString(getSetting('readonly')) AS ro, toString(getSetting('max_result_rows')) AS rows`);
    expect(main).toEqual({ ro: '0', rows: '0' });
    await ch.exec(`INSERT INTO probe VALUES ('main')`);
  });
});

describe('the server-mode analyst user (sql/query/analyst_user.sql)', () => {
  it('grants SELECT on exactly the tables the guard allows, and nothing else', () => {
    const text = fs.readFileSync(path.join(SQL_DIR, 'query', 'analyst_user.sql'), 'utf8');
    const grants = [...text.matchAll(/^GRANT (\w+) ON default\.(\w+) TO cvm_analyst;$/gm)];
    expect(grants.map((g) => g[1])).toEqual(grants.map(() => 'SELECT'));
    expect(grants.map((g) => g[2]).sort()).toEqual([...QUERYABLE_TABLES].sort());
    expect(text.match(/^GRANT /gm)).toHaveLength(QUERYABLE_TABLES.length);
  });
});
