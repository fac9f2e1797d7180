// The escape found in the Trust review (issue 13, item 1): the guard pasted the analyst's text into its own
// check query, `SELECT explain FROM (EXPLAIN AST <text>)`, so a `)` in the text closed that subquery and the
// rest ran without readonly or limits, its rows echoed back in the 400 as if they were table names. A
// secret planted in the data directory must never come back, whatever the text does with parentheses.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededShop, type Shop } from './api.fixture.ts';

let shop: Shop;
let secret: string;
let secretFile: string;

beforeAll(async () => {
  shop = await seededShop({ customers: 10, models: false });
  secret = `planted-${crypto.randomBytes(12).toString('hex')}`;
  secretFile = path.join(shop.rt.dir, 'encryption.key.planted');
  fs.writeFileSync(secretFile, `${secret}\n`);
});
afterAll(async () => {
  await shop?.rt.close();
});

const q = (sql: string) => shop.as('analyst', { method: 'POST', url: '/v1/query', payload: { sql } });

describe('the analyst SQL escape through the guard', () => {
  it('does not run text after an early `)`, and never echoes what it read', async () => {
    // Dressed as a line of EXPLAIN AST output naming a table, so the old guard's "table X cannot be
    // queried" message carried it back.
    const escape = `SELECT 1) UNION ALL (SELECT concat(repeat(' ', 6), 'TableIdentifier ', line) AS explain FROM file('${secretFile}', 'LineAsString')`;
    const res = await q(escape);
    expect(res.body).not.toContain(secret);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ field: 'sql', error: 'unbalanced_parentheses' });
    const ok = await q('SELECT 1 AS one');
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().rows).toEqual([{ one: 1 }]);
  });

  it('does not reach tables outside the allow-list through the escape (system.tables, api_keys)', async () => {
    const res = await q(`SELECT 1) UNION ALL (SELECT concat(repeat(' ', 6), 'TableIdentifier ', name, '_seen') AS explain FROM system.tables WHERE name = 'api_keys'`);
    expect(res.statusCode).toBe(400);
    expect(res.body).not.toContain('api_keys_seen');
  });
});
