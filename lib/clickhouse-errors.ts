// ClickHouse errors told apart by their code (ClickHouseError.code, the server's error number as a
// string), never by their message text, which changes between versions and carries parts of the query.
import { ClickHouseError } from '@clickhouse/client';

/** The codes cvm reacts to (ClickHouse's src/Common/ErrorCodes.cpp). */
export const CH_ERROR = {
  UNKNOWN_TABLE: '60',
  SYNTAX_ERROR: '62',
  TIMEOUT_EXCEEDED: '159',
  TOO_MANY_ROWS_OR_BYTES: '396',
} as const;
export type ClickHouseErrorCode = (typeof CH_ERROR)[keyof typeof CH_ERROR];

/**
 * The ClickHouse error code of `err`, or null when it is not a ClickHouse error. NOTE: on chDB the error
 * is a ClickHouseError too, but of the copy in @clickhouse/client-common (the chdb/connection package
 * depends on it), a class other than @clickhouse/client's, so `instanceof` alone misses it: the shape
 * decides (measured with chdb 3.x and @clickhouse/client 1.23; tests/lib.clickhouse-errors.test.ts).
 */
export function clickHouseErrorCode(err: unknown): string | null {
  if (err instanceof ClickHouseError) return err.code;
  if (err instanceof Error && err.constructor.name === 'ClickHouseError' && 'code' in err && typeof err.code === 'string') return err.code;
  return null;
}

export function isClickHouseError(err: unknown, code: ClickHouseErrorCode): boolean {
  return clickHouseErrorCode(err) === code;
}
