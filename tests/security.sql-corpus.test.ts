// A hostile corpus against POST /v1/query with an analyst key: escape attempts through parentheses (in
// every position of a real query), comments, quoting, unicode, table functions, SETTINGS, FORMAT,
// INTO OUTFILE, system tables, CTEs and subqueries naming tables outside the allow-list, multiple
// statements. Every one is refused with a 400 (never a 5xx, never rows), none brings back a secret
// planted in the data directory or in a table analysts may not read, nothing is written, and the
// server still answers afterwards.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanSql } from '../api/query/sql-lexer.ts';
import { ALICE, seededShop, type Shop } from './api.fixture.ts';

let shop: Shop;
const fileSecret = `fs-${crypto.randomBytes(10).toString('hex')}`;
const tableSecret = `ts-${crypto.randomBytes(10).toString('hex')}`;
let secretFile = '';
let outDir = '';

beforeAll(async () => {
  shop = await seededShop({ customers: 10, models: false });
  secretFile = path.join(shop.rt.dir, 'encryption.key.planted');
  fs.writeFileSync(secretFile, `${fileSecret}\n`);
  outDir = path.join(shop.rt.dir, 'outfile-probe');
  fs.mkdirSync(outDir);
  await shop.rt.deps.ch.exec(`INSERT INTO audit_log (actor, action, detail) VALUES ('corpus', 'plant', {s:String})`, { s: tableSecret });
});
afterAll(async () => {
  await shop?.rt.close();
});

const q = (sql: string) => shop.as('analyst', { method: 'POST', url: '/v1/query', payload: { sql } });

/** A legitimate query; every corpus entry derived from it by a `(` or `)` at one token boundary. */
const BASE = `SELECT type, count() AS n FROM events WHERE (customer_id != '') AND customer_id IN (SELECT customer_id FROM events WHERE type = 'purchase') GROUP BY type ORDER BY n DESC LIMIT 5`;

function parenthesisedEverywhere(): string[] {
  const cuts = new Set<number>([0, BASE.length]);
  for (const t of scanSql(BASE).tokens) {
    cuts.add(t.pos - 1);
    cuts.add(t.pos - 1 + t.text.length);
  }
  const out: string[] = [];
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    for (const p of [')', '(', ') UNION ALL (SELECT line, 1 FROM file(FILE, \'LineAsString\')']) out.push(`${BASE.slice(0, cut)} ${p} ${BASE.slice(cut)}`);
  }
  return out;
}

const F = () => `'${secretFile}'`;
const CORPUS = (): string[] => [
  // The reported escape and its relatives.
  `SELECT 1) UNION ALL (SELECT concat(repeat(' ', 6), 'TableIdentifier ', line) AS explain FROM file(${F()}, 'LineAsString')`,
  `SELECT 1)) UNION ALL ((SELECT line FROM file(${F()}, 'LineAsString')`,
  `(SELECT 1)) UNION ALL (SELECT line FROM file(${F()}, 'LineAsString')`,
  `SELECT 1) UNION ALL (SELECT detail AS explain FROM audit_log`,
  `SELECT 1) SETTINGS readonly = 0 --`,
  `SELECT (1`,
  `SELECT 1)`,
  `SELECT [1, 2)`,
  `SELECT (1]`,
  // Comments.
  `SELECT 1 /* never closed`,
  `SELECT 1 */ UNION ALL SELECT line FROM file(${F()}, 'LineAsString')`,
  `SELECT 1 /* /* nested */ ) UNION ALL (SELECT line FROM file(${F()}, 'LineAsString') */`,
  `SELECT 1 -- ) UNION ALL (SELECT 1\n)`,
  `SELECT 1 --\n; SELECT line FROM file(${F()}, 'LineAsString')`,
  `SELECT 1 # ) UNION ALL (SELECT 1`,
  `SELECT 1 #!\n) UNION ALL (SELECT 1`,
  // Quoting: the lexer and ClickHouse agree where strings and names end.
  `SELECT 'a\\') UNION ALL (SELECT line FROM file(${F()}, 'LineAsString')`,
  `SELECT 'a'') UNION ALL (SELECT line FROM file(${F()}, ''LineAsString'')`,
  `SELECT "a"") UNION ALL (SELECT 1`,
  'SELECT `a``) UNION ALL (SELECT 1',
  `SELECT $$) UNION ALL (SELECT 1$$`,
  `SELECT $tag$ ) $tag$`,
  // Unicode look-alikes and invisible characters.
  `SELECT 1） UNION ALL （SELECT line FROM file(${F()}, 'LineAsString')`,
  `SELECT 1\u037E SELECT line FROM file(${F()}, 'LineAsString')`,
  `SELECT 1\uFF1B SELECT line FROM file(${F()}, 'LineAsString')`,
  `SELECT fi\u200Ble(${F()})`,
  `SELECT ｆｉｌｅ(${F()})`,
  `SELECT * FROM audit\u00ADlog`,
  `SELECT 1\u2028) UNION ALL (SELECT 1`,
  // Table functions, anywhere.
  `SELECT * FROM file(${F()}, 'LineAsString')`,
  `SELECT file(${F()})`,
  `SELECT length(file(${F()})) AS n`,
  `SELECT * FROM events WHERE event_id = file(${F()})`,
  `WITH f AS (SELECT * FROM file(${F()}, 'LineAsString')) SELECT * FROM f`,
  `SELECT * FROM events WHERE customer_id IN (SELECT line FROM file(${F()}, 'LineAsString'))`,
  `SELECT * FROM events AS e INNER JOIN file(${F()}, 'LineAsString') AS f ON e.customer_id = f.line`,
  `SELECT * FROM url('http://127.0.0.1:8123/?query=SELECT+1', 'LineAsString')`,
  `SELECT * FROM remote('127.0.0.1', default.audit_log)`,
  `SELECT * FROM remoteSecure('127.0.0.1', default.audit_log)`,
  `SELECT * FROM s3('http://127.0.0.1:9000/b/x.csv')`,
  `SELECT * FROM executable('cat ${secretFile}', 'LineAsString', 'line String')`,
  `SELECT * FROM input('line String')`,
  `SELECT * FROM dictionary('d')`,
  `SELECT * FROM filesystem('${shop ? shop.rt.dir : '/'}')`,
  `SELECT * FROM merge('default', '^audit')`,
  `SELECT * FROM merge(currentDatabase(), 'audit_log')`,
  `SELECT * FROM view(SELECT detail FROM audit_log)`,
  `SELECT * FROM mergeTreeIndex('default', 'audit_log')`,
  `SELECT * FROM loop(audit_log) LIMIT 1`,
  `SELECT * FROM format(LineAsString, 'x')`,
  `SELECT * FROM sqlite('${secretFile}', 't')`,
  `SELECT * FROM mysql('127.0.0.1:3306', 'd', 't', 'u', 'p')`,
  `SELECT * FROM postgresql('127.0.0.1:5432', 'd', 't', 'u', 'p')`,
  `SELECT * FROM hdfs('hdfs://127.0.0.1:9000/x', 'CSV', 'a String')`,
  `SELECT * FROM urlCluster('default', 'http://127.0.0.1:1/x')`,
  `SELECT * FROM fileCluster('default', ${F()})`,
  `SELECT * FROM icebergLocal('${shop ? shop.rt.dir : '/'}')`,
  `SELECT * FROM generateRandom('a String') LIMIT 1`,
  `SELECT * FROM numbers(1)`,
  `SELECT * FROM values('a String', 'x')`,
  `SELECT * FROM cluster('default', default.audit_log)`,
  // Dictionaries and functions that read elsewhere or reveal internals.
  `SELECT dictGet('d', 'x', toUInt64(1))`,
  `SELECT dictHas('d', toUInt64(1))`,
  `SELECT joinGet('j', 'x', 1)`,
  `SELECT hasColumnInTable('default', 'audit_log', 'detail')`,
  `SELECT getServerSetting('path')`,
  `SELECT getSetting('readonly')`,
  `SELECT currentUser()`,
  `SELECT demangle('x')`,
  // SETTINGS, FORMAT, INTO OUTFILE.
  `SELECT * FROM events LIMIT 1 SETTINGS readonly = 0`,
  `SELECT * FROM events LIMIT 1 SETTINGS max_result_rows = 0, max_execution_time = 0`,
  `SELECT * FROM (SELECT * FROM events SETTINGS max_result_rows = 0) LIMIT 1`,
  `WITH x AS (SELECT 1 SETTINGS allow_ddl = 1) SELECT * FROM x`,
  `SELECT * FROM events LIMIT 1 FORMAT CSV`,
  `SELECT * FROM events LIMIT 1 FORMAT TabSeparatedRaw`,
  `SELECT 1 FORMAT Null`,
  `SELECT * FROM events LIMIT 1 INTO OUTFILE '${outDir}/a.csv'`,
  `SELECT * FROM events LIMIT 1 INTO OUTFILE '${outDir}/b.csv' TRUNCATE FORMAT CSV`,
  `SELECT * FROM events LIMIT 1 INTO OUTFILE '${outDir}/c.gz' COMPRESSION 'gzip'`,
  `SELECT * FROM events LIMIT 1 into /* x */ outfile '${outDir}/d.csv'`,
  // System tables and schemas, however spelled.
  `SELECT * FROM system.tables`,
  `SELECT * FROM system.settings`,
  `SELECT * FROM system.processes`,
  `SELECT * FROM system.query_log`,
  `SELECT * FROM system.users`,
  'SELECT * FROM `system`.`tables`',
  `SELECT * FROM "system"."tables"`,
  `SELECT * FROM information_schema.tables`,
  `SELECT * FROM INFORMATION_SCHEMA.COLUMNS`,
  `SELECT count() FROM events WHERE customer_id IN system.tables`,
  `SELECT (SELECT count() FROM system.tables) AS n`,
  // CTEs and subqueries naming tables outside the allow-list.
  `WITH x AS (SELECT detail FROM audit_log) SELECT * FROM x`,
  `WITH (SELECT max(detail) FROM audit_log) AS s SELECT s`,
  `WITH customers AS (SELECT * FROM events) SELECT * FROM customers`,
  `WITH audit_log AS (SELECT 1 AS x) SELECT * FROM audit_log`,
  `SELECT * FROM (SELECT * FROM shop_members)`,
  `SELECT * FROM (SELECT * FROM (SELECT * FROM (SELECT detail FROM audit_log)))`,
  `SELECT (SELECT any(detail) FROM audit_log) AS d`,
  `SELECT * FROM events WHERE customer_id IN (SELECT key_id FROM api_keys)`,
  `SELECT * FROM events WHERE customer_id IN audit_log`,
  `SELECT 1 WHERE EXISTS (SELECT * FROM api_keys)`,
  `SELECT * FROM events AS e, customers AS c LIMIT 1`,
  `SELECT * FROM events AS e INNER JOIN customers AS c ON e.customer_id = c.customer_id LIMIT 1`,
  `SELECT customer_id FROM events UNION ALL SELECT customer_id FROM customers`,
  `SELECT * FROM default.customers`,
  'SELECT * FROM `default`.`audit_log`',
  `SELECT * FROM "audit_log"`,
  `SELECT * FROM identities`,
  `SELECT * FROM events ARRAY JOIN (SELECT groupArray(detail) FROM audit_log) AS d LIMIT 1`,
  `SELECT * FROM events WHERE 1 = (SELECT count() FROM view(SELECT * FROM customers))`,
  // Not a SELECT, or more than one statement.
  `SELECT 1; SELECT line FROM file(${F()}, 'LineAsString')`,
  `SELECT 1;;`,
  `SELECT 1\n;\nDROP TABLE events`,
  `EXPLAIN SELECT * FROM audit_log`,
  `DESCRIBE TABLE customers`,
  `SHOW TABLES`,
  `SHOW CREATE TABLE customers`,
  `EXISTS TABLE customers`,
  `KILL QUERY WHERE 1`,
  `OPTIMIZE TABLE events`,
  `USE system`,
  `INSERT INTO events SELECT * FROM events`,
  `CREATE TEMPORARY TABLE t (a UInt8)`,
  `GRANT ALL ON *.* TO default`,
  `SELECT {p:String}`,
];

describe('the hostile SQL corpus', () => {
  it('refuses a ( or ) at every token boundary of a legitimate query, plain or carrying an escape', async () => {
    expect((await q(BASE)).statusCode).toBe(200);
    const attempts = parenthesisedEverywhere();
    expect(attempts.length).toBeGreaterThan(80);
    for (const raw of attempts) {
      const sql = raw.replaceAll('FILE', `'${secretFile}'`);
      const res = await q(sql);
      expect(res.statusCode, `${sql}\n${res.body}`).toBe(400);
      expect(res.json(), sql).toMatchObject({ field: 'sql' });
      expect(res.body).not.toContain(fileSecret);
    }
  });

  it('refuses every entry with a 400 that carries no secret, and writes nothing', async () => {
    const corpus = CORPUS();
    expect(corpus.length).toBeGreaterThan(100);
    const answered: string[] = [];
    for (const sql of corpus) {
      const res = await q(sql);
      if (res.statusCode !== 400) answered.push(`${res.statusCode} ${sql}\n   ${res.body.slice(0, 300)}`);
      else expect(res.json(), sql).toMatchObject({ field: 'sql', error: expect.any(String), message: expect.any(String) });
      expect(res.body, sql).not.toContain(fileSecret);
      expect(res.body, sql).not.toContain(tableSecret);
    }
    expect(answered).toEqual([]);
    expect(fs.readdirSync(outDir)).toEqual([]);
  });

  it('still answers afterwards: analysts, storefront reads, and the shared session still writable', async () => {
    expect((await q('SELECT 1 AS one')).json().rows).toEqual([{ one: 1 }]);
    expect((await q(BASE)).statusCode).toBe(200);
    expect((await shop.as('storefront', { method: 'GET', url: `/v1/customers/${ALICE.id}` })).statusCode).toBe(200);
    const [row] = await shop.rt.deps.ch.rows<{ ro: string }>(`SELECT toString(getSetting('readonly')) AS ro`);
    expect(row!.ro).toBe('0');
    await shop.rt.deps.ch.exec(`INSERT INTO audit_log (actor, action) VALUES ('corpus', 'after')`);
  });
});
