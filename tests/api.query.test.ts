// The analyst query endpoint: read-only SQL over allow-listed tables, refused with a clear 400 (and
// nothing run) for anything else, limits enforced by ClickHouse, every request audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { querySettings } from '../api/query/sql-guard.ts';
import { scanSql, SqlRejected } from '../api/query/sql-lexer.ts';
import { ALICE, seededShop, type Shop } from './api.fixture.ts';

let shop: Shop;

beforeAll(async () => {
  shop = await seededShop({ env: { CVM_QUERY_MAX_ROWS: '500' } });
});
afterAll(async () => {
  await shop?.rt.close();
});

const q = (sql: string, format?: 'csv' | 'json') => shop.as('analyst', { method: 'POST', url: '/v1/query', payload: { sql, ...(format ? { format } : {}) } });

async function fingerprint(): Promise<string> {
  const [row] = await shop.rt.deps.ch.rows<{ events: string; customers: string; tables: string }>(
    `SELECT (SELECT count() FROM events) AS events, (SELECT count() FROM customers) AS customers,
            (SELECT groupArray(name) FROM (SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name)) AS tables`,
  );
  return JSON.stringify(row);
}

describe('analyst queries', () => {
  it('runs a SELECT over allowed tables and views and answers rows or CSV', async () => {
    const sql = `WITH spend AS (SELECT customer_id, sum(amount_base) AS total FROM events WHERE type = 'purchase' AND customer_id != '' GROUP BY customer_id)
      SELECT s.customer_id AS customer_id, round(s.total, 2) AS total, f.country AS country
      FROM spend AS s INNER JOIN customer_features AS f ON f.customer_id = s.customer_id
      WHERE s.customer_id IN (SELECT customer_id FROM rfm_scores) -- a comment
      ORDER BY total DESC, customer_id LIMIT 5;`;
    const res = await q(sql);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.columns).toEqual(['customer_id', 'total', 'country']);
    expect(body.rows).toHaveLength(5);
    expect(body.tables).toEqual(['customer_features', 'events', 'rfm_scores']);
    const csv = await q(sql, 'csv');
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.body.trim().split('\r\n');
    expect(lines[0]).toBe('customer_id,total,country');
    expect(lines[1]).toBe(`${body.rows[0].customer_id},${body.rows[0].total},${body.rows[0].country}`);
  });

  it('keeps a semicolon inside a string as data (the lexer agrees with ClickHouse on escapes)', async () => {
    const res = await q(`SELECT 'a\\'; DROP TABLE events; --' AS s, "x;y" FROM (SELECT 1 AS \`x;y\`)`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().rows[0].s).toBe(`a'; DROP TABLE events; --`);
  });

  const refused: Array<[string, string, RegExp]> = [
    ['1; DROP TABLE events', 'query_rejected', /only one statement/],
    ['1', 'not_a_select', /only read queries/],
    ['SELECT 1; DROP TABLE events', 'query_rejected', /only one statement/],
    ['SELECT count() FROM events;\nDROP TABLE events', 'query_rejected', /only one statement/],
    ['SELECT * FROM system.users', 'table_not_allowed', /system\.users cannot be queried/],
    ['SELECT name FROM system.tables', 'table_not_allowed', /system\.tables/],
    ["SELECT * FROM file('/etc/passwd')", 'table_function_not_allowed', /file\(\)/],
    ["SELECT * FROM file('/etc/passwd', 'LineAsString')", 'table_function_not_allowed', /file\(\)/],
    ["SELECT file('/etc/passwd')", 'table_function_not_allowed', /file\(\)/],
    ["SELECT * FROM url('http://127.0.0.1:1/x', 'CSV', 'a String')", 'table_function_not_allowed', /url\(\)/],
    ["SELECT * FROM remote('127.0.0.1', system.users)", 'table_function_not_allowed', /remote\(\)/],
    ["SELECT * FROM s3('http://x/y.csv')", 'table_function_not_allowed', /s3\(\)/],
    ['SELECT * FROM numbers(10)', 'table_function_not_allowed', /numbers\(\)/],
    ["SELECT * FROM merge('default', '.*')", 'table_function_not_allowed', /merge\(\)/],
    ['SELECT * FROM view(SELECT * FROM audit_log)', 'table_function_not_allowed', /view\(\)/],
    ["INSERT INTO events (event_id) VALUES ('00000000-0000-0000-0000-000000000000')", 'not_a_select', /found INSERT/],
    ['ALTER TABLE events DELETE WHERE 1', 'not_a_select', /found ALTER/],
    ['DROP TABLE events', 'not_a_select', /found DROP/],
    ['TRUNCATE TABLE events', 'not_a_select', /found TRUNCATE/],
    ['CREATE TABLE x (a UInt8) ENGINE = Memory', 'not_a_select', /found CREATE/],
    ['SET readonly = 0', 'not_a_select', /found SET/],
    ['SYSTEM SHUTDOWN', 'not_a_select', /found SYSTEM/],
    ['SELECT * FROM customers', 'table_not_allowed', /table customers cannot be queried/],
    ['SELECT * FROM default.audit_log', 'table_not_allowed', /audit_log/],
    ['SELECT hash FROM api_keys', 'table_not_allowed', /api_keys/],
    ['SELECT count() FROM events WHERE customer_id IN audit_log', 'table_not_allowed', /audit_log/],
    ['SELECT count() FROM events WHERE customer_id IN system.users', 'table_not_allowed', /system\.users/],
    ['SELECT (SELECT count() FROM api_keys) AS n', 'table_not_allowed', /api_keys/],
    ['WITH audit_log AS (SELECT 1 AS x) SELECT * FROM audit_log', 'table_not_allowed', /audit_log/],
    ['SELECT (SELECT any(toUInt8(detail)) FROM audit_log), (WITH audit_log AS (SELECT 1) SELECT 1)', 'table_not_allowed', /audit_log/],
    ['SELECT * FROM events SETTINGS readonly = 0', 'clause_not_allowed', /SETTINGS/],
    ['SELECT * FROM (SELECT 1 SETTINGS max_result_rows = 0)', 'clause_not_allowed', /SETTINGS/],
    ['SELECT * FROM events FORMAT CSV', 'clause_not_allowed', /FORMAT/],
    ["SELECT * FROM events INTO OUTFILE '/tmp/cvm-out.csv'", 'clause_not_allowed', /OUTFILE|FORMAT/],
    ["SELECT dictGet('d', 'x', toUInt64(1))", 'function_not_allowed', /dictGet/],
    ["SELECT getSetting('readonly')", 'function_not_allowed', /getSetting/],
    ["SELECT joinGet('j', 'x', 1)", 'function_not_allowed', /joinGet/],
    ['SELECT 1 -- ; DROP TABLE events', 'query_rejected', /semicolons are not allowed in comments/],
    ['SELECT 1 /* /* */ ; DROP TABLE events */', 'query_rejected', /nested comments/],
    ['SELECT 1 # ; DROP TABLE events', 'query_rejected', /'#' comments/],
    ['SELECT $$;$$', 'query_rejected', /heredoc/],
    ["SELECT 'unterminated", 'query_rejected', /string is not closed/],
    ['SELECT nosuchcolumn FROM events', 'invalid_query', /nosuchcolumn/],
  ];

  it.each(refused)('refuses %s with a clear 400 and runs nothing', async (sql, code, message) => {
    const before = await fingerprint();
    const res = await q(sql);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ error: code, field: 'sql' });
    expect(res.json().message).toMatch(message);
    expect(await fingerprint()).toBe(before);
  });

  it('leaves the shared ClickHouse session writable: readonly and the limits hold on the restricted session only', async () => {
    expect((await q('SELECT count() AS n FROM events')).statusCode).toBe(200);
    await shop.rt.deps.ch.exec("INSERT INTO audit_log (actor, action) VALUES ('test', 'probe')");
    const limits = { maxRows: 7, maxSeconds: 3, maxMemoryBytes: 64 * 1024 ** 2 };
    const session = await shop.rt.deps.ch.openRestricted(querySettings(limits, 1, 2.5));
    try {
      const [s] = (await session.json(
        `SELECT getSetting('readonly') AS ro, getSetting('max_result_rows') AS mr, getSetting('result_overflow_mode') AS mode, getSetting('max_execution_time') AS t`,
        'JSONEachRow',
      )) as Array<Record<string, unknown>>;
      expect(Object.fromEntries(Object.entries(s!).map(([k, v]) => [k, String(v)]))).toEqual({ ro: '1', mr: '7', mode: 'throw', t: '2.5' });
      // The engine, not the guard, refuses to lift a limit or write on this session.
      await expect(session.json('SELECT 1 SETTINGS max_result_rows = 0', 'JSONEachRow')).rejects.toThrow(/readonly/i);
      await expect(session.json("INSERT INTO audit_log (actor, action) VALUES ('analyst', 'write')", 'JSONEachRow')).rejects.toThrow(/readonly/i);
    } finally {
      await session.close();
    }
    const [main] = await shop.rt.deps.ch.rows<{ ro: string }>(`SELECT toString(getSetting('readonly')) AS ro`);
    expect(main!.ro).toBe('0');
  });

  it('enforces the row limit in ClickHouse (result_overflow_mode = throw)', async () => {
    const res = await q('SELECT * FROM events');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'result_too_large' });
    expect(res.json().message).toMatch(/more than 500 rows/);
    expect((await q('SELECT * FROM events LIMIT 500')).json().rows).toHaveLength(500);
  });

  it('audits every query: key, role, SQL, rows, or the reason it was refused', async () => {
    const key = shop.rt.deps.services.keys.list().find((k) => k.role === 'analyst')!;
    const sql = `SELECT customer_id FROM customer_features WHERE customer_id = '${ALICE.id}'`;
    expect((await q(sql)).json().row_count).toBe(1);
    await q('SELECT * FROM system.users');
    const rows = await shop.rt.deps.ch.rows<{ actor: string; role: string; action: string; detail: string }>(
      `SELECT actor, role, action, detail FROM audit_log WHERE action = 'query' ORDER BY at DESC LIMIT 2`,
    );
    const [refused, ok] = rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) }));
    expect(ok).toMatchObject({ actor: key.key_id, role: 'analyst', action: 'query', detail: { sql, status: 'ok', rows: 1 } });
    expect(refused).toMatchObject({ actor: key.key_id, role: 'analyst', detail: { sql: 'SELECT * FROM system.users', status: 'rejected' } });
  });

  it('is for analysts and admins only', async () => {
    expect((await shop.as('storefront', { method: 'POST', url: '/v1/query', payload: { sql: 'SELECT 1' } })).statusCode).toBe(403);
    expect((await shop.as('none', { method: 'POST', url: '/v1/query', payload: { sql: 'SELECT 1' } })).statusCode).toBe(401);
    expect((await shop.as('admin', { method: 'POST', url: '/v1/query', payload: { sql: 'SELECT 1 AS one' } })).json().rows).toEqual([{ one: 1 }]);
  });

  it('lists the queryable tables with their columns', async () => {
    const t = (await shop.as('analyst', { method: 'GET', url: '/v1/query/tables' })).json().tables;
    expect(Object.keys(t)).toContain('events');
    expect(Object.keys(t)).toContain('customer_features');
    expect(Object.keys(t)).not.toContain('customers');
    expect(t.customer_features.map((c: { name: string }) => c.name)).toContain('churn_risk');
  });
});

describe('sql lexer', () => {
  it('finds the one statement and the CTE names', () => {
    const s = scanSql('WITH a AS (SELECT 1), "b c" AS (SELECT 2) SELECT * FROM a; -- done');
    expect(s.statement).toBe('WITH a AS (SELECT 1), "b c" AS (SELECT 2) SELECT * FROM a');
    expect([...s.cteNames]).toEqual(['a', 'b c']);
    expect(() => scanSql('   ')).toThrow(SqlRejected);
  });
});
