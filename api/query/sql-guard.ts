// Admits an analyst's SQL only when it is one read-only SELECT over the allow-listed tables and views.
// The analyst's text is never put inside another statement: it runs as it is, after `EXPLAIN AST ` or on
// its own, on a restricted session (lib/clickhouse.ts openRestricted: readonly=1 and the limits, fixed by
// the engine before the text arrives). The checks, cheapest and safest first:
//  1. sql-lexer.ts: exactly one statement, balanced parentheses, no stray comment openers, no INTO OUTFILE,
//     starting with SELECT or WITH. Nothing has reached the engine yet.
//  2. EXPLAIN AST (a pure parse, on the restricted session): no SETTINGS, FORMAT, no table functions,
//     no data-reading scalar functions (file, dictGet, joinGet, ...), every table name allow-listed or a
//     CTE that does not shadow a real table, nothing from system / information_schema.
//  3. EXPLAIN QUERY TREE (the analyzer, names resolved, on the restricted session): every table the query
//     really touches, including `x IN table` and views, is in the allow-list. The analyzer evaluates
//     constant scalar subqueries, which is why it only runs after check 2 proved every table it can reach
//     is allowed, and why it counts against the query's one time budget.
// What the engine refuses on its own (readonly=1): writes, DDL, SETTINGS that change a limit, and the
// table functions that read outside the database (file, url, remote, s3, executable, dictionary, ...).
// What only these checks keep out in embedded mode (chDB has no users or grants): system tables, the
// scalar file() function, view()/merge()/mergeTreeIndex() over tables outside the allow-list. In server
// mode CLICKHOUSE_ANALYST_USER adds the server's grants on top (sql/query/analyst_user.sql).
import { CH_ERROR, isClickHouseError } from '../../lib/clickhouse-errors.ts';
import type { ClickHouse, RestrictedSession } from '../../lib/clickhouse.ts';
import { sql } from '../../lib/sql.ts';
import { SqlRejected, scanSql, type ScannedSql } from './sql-lexer.ts';

export { SqlRejected };

/** What analysts may read: events and model outputs, no PII tables (customers' traits, identities), no keys, no audit. */
export const QUERYABLE_TABLES = [
  'events', 'events_resolved', 'events_consented', 'order_items', 'products', 'fx_rates', 'model_runs',
  'rfm_scores', 'clv_scores', 'churn_scores', 'customer_features', 'segment_sizes', 'sessions',
  'recs_personal', 'recs_similar', 'recs_bought_together', 'recs_popular', 'recs_catalog',
] as const;

/** Scalar functions that read outside the query's tables or reveal server internals. */
const DENIED_FUNCTION_PATTERNS = [
  /^dict/i, /^joinget/i, /^file$/i, /^hascolumnintable$/i, /^catboost/i, /^getsetting/i, /^getmacro$/i, /^filesystem/i,
  /^getserverport$/i, /^getclienthttpheader$/i, /^gethttpheader$/i, /^current(user|profiles|roles)$/i, /^(enabled|default)roles$/i,
  /^user$/i, /^initial_?query_?id$/i, /^getoslimits?/i, /^getmergetreesetting$/i, /^getserversetting$/i, /^__/,
];

const READ_ONLY_SCHEMAS = new Set(['system', 'information_schema']);

export interface GuardLimits {
  maxRows: number;
  maxSeconds: number;
  maxMemoryBytes: number;
}

export interface GuardedQuery {
  /** The analyst's statement as written (without a trailing semicolon): it runs as it is, on a restricted session. */
  sql: string;
  tables: string[];
}

/** The restricted session's settings for the checks: readonly=1 comes with every restricted session. */
export function explainSettings(limits: GuardLimits, maxThreads: number): Record<string, number | string> {
  return { max_execution_time: limits.maxSeconds, timeout_overflow_mode: 'throw', max_memory_usage: Math.floor(limits.maxMemoryBytes), max_threads: maxThreads };
}

/** The restricted session's settings for the query itself, with what is left of its time budget. */
export function querySettings(limits: GuardLimits, maxThreads: number, secondsLeft: number): Record<string, number | string> {
  return {
    ...explainSettings(limits, maxThreads),
    max_execution_time: Math.max(0.001, Math.round(secondsLeft * 1000) / 1000),
    max_result_rows: Math.floor(limits.maxRows),
    result_overflow_mode: 'throw',
  };
}

interface AstNode {
  depth: number;
  type: string;
  name: string;
}

function parseAstLine(line: string): AstNode {
  const depth = line.length - line.trimStart().length;
  const body = line
    .trim()
    .replace(/ \(children \d+\)$/, '')
    .replace(/ \(alias [^)]*\)$/, '');
  const sp = body.indexOf(' ');
  return { depth, type: sp === -1 ? body : body.slice(0, sp), name: sp === -1 ? '' : body.slice(sp + 1).trim() };
}

function splitName(name: string): { db: string | null; table: string } {
  const dot = name.indexOf('.');
  return dot === -1 ? { db: null, table: name } : { db: name.slice(0, dot), table: name.slice(dot + 1) };
}

export class SqlGuard {
  private tableFunctions: Set<string> | null = null;
  private currentDb: string | null = null;
  private readonly allowed: Set<string>;

  constructor(private readonly ch: ClickHouse, private readonly limits: GuardLimits, allowed: readonly string[] = QUERYABLE_TABLES) {
    this.allowed = new Set(allowed);
  }

  allowedTables(): string[] {
    return [...this.allowed].sort();
  }

  private async context(): Promise<{ db: string; tableFunctions: Set<string>; existing: Set<string> }> {
    if (!this.tableFunctions || !this.currentDb) {
      const [row] = await this.ch.rows<{ db: string; fns: string[] }>(sql('query/context'));
      this.currentDb = row?.db ?? 'default';
      this.tableFunctions = new Set([...(row?.fns ?? []), 'file', 'url', 'remote', 's3', 'input']);
    }
    const existing = new Set((await this.ch.rows<{ name: string }>(sql('query/existing-tables'))).map((r) => r.name));
    return { db: this.currentDb, tableFunctions: this.tableFunctions, existing };
  }

  private notQueryable(name: string): SqlRejected {
    return new SqlRejected(0, `table ${name} cannot be queried here; queryable tables and views: ${this.allowedTables().join(', ')}`, 'table_not_allowed');
  }

  /** Check 1, no engine: throws SqlRejected (our own words, nothing from the engine). */
  static scan(text: string): ScannedSql {
    const scanned = scanSql(text);
    const first = scanned.tokens.find((t) => t.text !== '(');
    const verb = first?.kind === 'word' ? first.text.toUpperCase() : '';
    if (verb !== 'SELECT' && verb !== 'WITH') {
      throw new SqlRejected(first?.pos ?? 1, `only read queries (SELECT, or WITH ... SELECT) can run here; found ${first ? first.text : 'nothing'}`, 'not_a_select');
    }
    return scanned;
  }

  /**
   * Checks 2 and 3 on `session` (restricted: readonly=1, the limits). Throws SqlRejected with the reason;
   * nothing but the parse and the analyzer has seen the text when it throws.
   */
  async check(scanned: ScannedSql, session: RestrictedSession): Promise<GuardedQuery> {
    const ctx = await this.context();
    const explain = async (kind: 'AST' | 'QUERY TREE') =>
      ((await session.json(`EXPLAIN ${kind} ${scanned.statement}`, 'JSONEachRow')) as Array<{ explain: string }>).map((r) => r.explain);

    // 2. The parse tree.
    let astLines: string[];
    try {
      astLines = await explain('AST');
    } catch (err) {
      throw parseProblem(err);
    }
    const nodes = astLines.map(parseAstLine);
    const parents: AstNode[] = [];
    for (const node of nodes) {
      parents.length = node.depth;
      const parent = parents[node.depth - 1];
      parents[node.depth] = node;
      if (node.depth === 0 && node.type !== 'SelectWithUnionQuery') throw new SqlRejected(0, 'only read queries (SELECT) can run here', 'not_a_select');
      if (node.depth === 1 && node.type !== 'ExpressionList') throw new SqlRejected(0, 'FORMAT, INTO OUTFILE and SETTINGS are chosen by the server; remove them', 'clause_not_allowed');
      if (node.type === 'Set' || node.type === 'SetQuery') throw new SqlRejected(0, 'SETTINGS clauses are not allowed; the server sets the limits', 'clause_not_allowed');
      if (node.type === 'Function') {
        const fn = node.name.toLowerCase();
        if (parent?.type === 'TableExpression' || ctx.tableFunctions.has(fn)) {
          throw new SqlRejected(0, `table functions such as ${node.name}() cannot be used; query the allow-listed tables: ${this.allowedTables().join(', ')}`, 'table_function_not_allowed');
        }
        if (DENIED_FUNCTION_PATTERNS.some((p) => p.test(fn))) throw new SqlRejected(0, `function ${node.name}() is not allowed here`, 'function_not_allowed');
      }
      // A SELECT without FROM reads the one-row dummy table system.one.
      if (node.type === 'TableIdentifier' && node.name === 'system.one') continue;
      if (node.type === 'TableIdentifier') {
        const { db, table } = splitName(node.name);
        if (db !== null && db !== ctx.db) throw this.notQueryable(node.name);
        const isCte = db === null && scanned.cteNames.has(table) && !ctx.existing.has(table);
        if (!this.allowed.has(table) && !isCte) throw this.notQueryable(node.name);
      }
      if (node.type === 'Identifier' || node.type === 'TableIdentifier') {
        const { db } = splitName(node.name);
        if (db !== null && READ_ONLY_SCHEMAS.has(db.toLowerCase())) throw this.notQueryable(node.name);
      }
    }

    // 3. What the analyzer resolves every name to.
    let treeLines: string[];
    try {
      treeLines = await explain('QUERY TREE');
    } catch (err) {
      throw parseProblem(err);
    }
    const tables = new Set<string>();
    for (const line of treeLines) {
      if (/\bTABLE_FUNCTION id:/.test(line)) throw new SqlRejected(0, 'table functions cannot be used', 'table_function_not_allowed');
      const m = /\bTABLE id: \d+.*?, table_name: ([^,\s]+)/.exec(line);
      if (!m) continue;
      if (m[1] === 'system.one') continue; // the one-row dummy table of a SELECT without FROM
      const { db, table } = splitName(m[1]!);
      if ((db !== null && db !== ctx.db) || !this.allowed.has(table)) throw this.notQueryable(m[1]!);
      tables.add(table);
    }
    return { sql: scanned.statement, tables: [...tables].sort() };
  }
}

/** ClickHouse's own message for a query it cannot parse or resolve, without stack or query echo. */
export function clickhouseMessage(err: unknown): string {
  const msg = (err as Error)?.message ?? String(err);
  return msg.replace(/\s*\(version [^)]*\)\s*$/, '').replace(/\s+Stack trace:[\s\S]*$/, '').trim().slice(0, 1000);
}

function parseProblem(err: unknown): SqlRejected {
  const msg = clickhouseMessage(err);
  if (/only SELECT/i.test(msg)) return new SqlRejected(0, 'only read queries (SELECT) can run here', 'not_a_select');
  if (/output options/i.test(msg)) return new SqlRejected(0, 'FORMAT and INTO OUTFILE are chosen by the server; remove them', 'clause_not_allowed');
  // The restricted session is readonly=1: the engine itself refused a SETTINGS clause or a table function.
  if (/Cannot modify '[^']*' setting in readonly mode/i.test(msg)) return new SqlRejected(0, 'SETTINGS clauses are not allowed; the server sets the limits', 'clause_not_allowed');
  if (/readonly mode|READONLY/.test(msg)) return new SqlRejected(0, 'the query needs more than read access, which analyst queries do not have', 'not_allowed_readonly');
  if (isClickHouseError(err, CH_ERROR.TIMEOUT_EXCEEDED)) return new SqlRejected(0, 'the query ran out of its time budget while being checked (constant subqueries are computed then)', 'query_timeout');
  return new SqlRejected(0, msg, 'invalid_query');
}
