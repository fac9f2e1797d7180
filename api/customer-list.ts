// Pages of customer_features (one row per customer with latest scores) under a condition, in a stable
// order, with keyset cursors: a page costs the same however deep it is, and rows added meanwhile do
// not shift the next page. Used by the customer list, segment members and exports.
import type { ClickHouse } from '../lib/clickhouse.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';

/** Sortable columns; `-clv` sorts descending. Unscored customers (NULL) come last either way. */
export const SORT_FIELDS = ['customer_id', 'clv', 'churn_risk', 'monetary', 'frequency', 'recency_days', 'p_alive', 'expected_purchases'] as const;
export type SortField = (typeof SORT_FIELDS)[number];

export const FEATURE_COLUMNS = [
  'customer_id', 'country', 'consent', 'first_seen', 'segment', 'recency_days', 'frequency', 'monetary', 'r', 'f', 'm',
  'clv', 'p_alive', 'expected_purchases', 'churn_risk',
] as const;

export class ListError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

export function parseSort(sort: string | undefined): { field: SortField; desc: boolean; key: string } {
  const s = sort ?? 'customer_id';
  const desc = s.startsWith('-');
  const field = (desc ? s.slice(1) : s) as SortField;
  if (!SORT_FIELDS.includes(field)) throw new ListError('sort', `sort must be one of ${SORT_FIELDS.join(', ')}, optionally with a leading - for descending`);
  return { field, desc, key: s };
}

export interface ListRequest {
  /** A condition over customer_features columns, values in params. */
  where: string;
  params: Record<string, unknown>;
  sort?: string;
  cursor?: string;
  limit: number;
}

export interface ListPage {
  rows: Array<Record<string, unknown>>;
  next_cursor: string | null;
}

// NULL sorts as an extreme that puts unscored customers after the scored ones in both directions.
const FAR = 1e300;

export async function listFeatures(ch: ClickHouse, req: ListRequest): Promise<ListPage> {
  const sort = parseSort(req.sort);
  const cursor = req.cursor ? decodeCursor(req.cursor, sort.key) : null;
  const params: Record<string, unknown> = { ...req.params, __limit: req.limit + 1 };
  const text = sort.field === 'customer_id';
  const keyExpr = text ? 'customer_id' : `ifNull(toFloat64(${sort.field}), ${sort.desc ? -FAR : FAR})`;
  let after = '1';
  if (cursor) {
    params.__cid = cursor.id;
    if (text) after = `customer_id ${sort.desc ? '<' : '>'} {__cid:String}`;
    else {
      if (typeof cursor.k !== 'number') throw new ListError('cursor', 'cursor is not valid for this sort');
      // As text: the client refuses to send large whole-number floats (the NULL sentinel) as numbers.
      params.__ck = String(cursor.k);
      after = `(__k ${sort.desc ? '<' : '>'} {__ck:Float64} OR (__k = {__ck:Float64} AND customer_id > {__cid:String}))`;
    }
  }
  const order = text ? `customer_id ${sort.desc ? 'DESC' : 'ASC'}` : `__k ${sort.desc ? 'DESC' : 'ASC'}, customer_id ASC`;
  const rows = await ch.rows<Record<string, unknown>>(
    `SELECT ${FEATURE_COLUMNS.join(', ')}, ${keyExpr} AS __k
     FROM customer_features
     WHERE (${req.where}) AND ${after}
     ORDER BY ${order}
     LIMIT {__limit:UInt32}`,
    params,
  );
  let next: string | null = null;
  if (rows.length > req.limit) {
    rows.length = req.limit;
    const last = rows[rows.length - 1]!;
    next = encodeCursor({ s: sort.key, k: text ? String(last.customer_id) : Number(last.__k), id: String(last.customer_id) });
  }
  for (const r of rows) delete r.__k;
  return { rows, next_cursor: next };
}
