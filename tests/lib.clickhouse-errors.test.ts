// What the ClickHouse client really throws on chDB (the embedded engine every test runs on): errors with
// the server's code as a string, which lib/clickhouse-errors.ts matches instead of the message text.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouse } from '../lib/clickhouse.ts';
import { testConfig } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';
import { CH_ERROR, clickHouseErrorCode, isClickHouseError } from '../lib/clickhouse-errors.ts';
import { isMissingTable } from '../dashboards/panel-data.ts';
import { openStore } from '../bin/runtime.ts';
import { tempDir } from './helpers/runtime.ts';

const log = initLogging({ level: 'silent' });

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected the query to fail');
    },
    (err: unknown) => err,
  );
}

describe('ClickHouse errors by code', () => {
  let ch: ClickHouse;

  beforeAll(async () => {
    ch = await openStore(testConfig({ CVM_DATA_DIR: tempDir('cvm-cherr-') }), log);
  });
  afterAll(async () => {
    await ch?.close();
  });

  it('a missing table is UNKNOWN_TABLE (60), a bad statement SYNTAX_ERROR (62)', async () => {
    const missing = await failure(ch.rows('SELECT * FROM no_such_table'));
    expect(clickHouseErrorCode(missing)).toBe(CH_ERROR.UNKNOWN_TABLE);
    expect(missing).toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
    expect(isMissingTable(missing)).toBe(true);
    const syntax = await failure(ch.rows('SELEC 1'));
    expect(clickHouseErrorCode(syntax)).toBe(CH_ERROR.SYNTAX_ERROR);
    expect(isMissingTable(syntax)).toBe(false);
  });

  it('a query over its time is TIMEOUT_EXCEEDED (159), a result over its row limit TOO_MANY_ROWS_OR_BYTES (396)', async () => {
    const slow = await failure(ch.rows('SELECT count() FROM numbers(100000000000) SETTINGS max_execution_time = 0.2'));
    expect(isClickHouseError(slow, CH_ERROR.TIMEOUT_EXCEEDED)).toBe(true);
    const big = await failure(ch.rows('SELECT number FROM numbers(100) SETTINGS max_result_rows = 10, result_overflow_mode = \'throw\''));
    expect(isClickHouseError(big, CH_ERROR.TOO_MANY_ROWS_OR_BYTES)).toBe(true);
  });

  it('is not fooled by other errors that mention a code or a table', () => {
    expect(clickHouseErrorCode(new Error('Code: 60. DB::Exception: Table x does not exist. (UNKNOWN_TABLE)'))).toBeNull();
    expect(clickHouseErrorCode(Object.assign(new Error('no such file'), { code: 'ENOENT' }))).toBeNull();
    expect(clickHouseErrorCode('60')).toBeNull();
    expect(isMissingTable(new Error('Unknown table expression identifier'))).toBe(false);
  });
});
