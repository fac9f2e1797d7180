// Admits an analyst's SQL only when it is one read-only SELECT over the allow-listed tables and views.
// Three checks, cheapest and safest first; a query that fails one is refused before anything runs:
//  1. sql-lexer.ts: exactly one statement, starting with SELECT or WITH.
//  2. EXPLAIN AST (a pure parse): no SETTINGS, no table functions (file(), url(), remote(), ...), no
//     data-reading scalar functions (dictGet, joinGet, ...), every table name allow-listed or a CTE that
//     does not shadow a real table, nothing from system / information_schema.
//  3. EXPLAIN QUERY TREE (the analyzer, names resolved): every table the query really touches, including
//     `x IN table` and views, is in the allow-list. The analyzer evaluates constant scalar subqueries,
//     which is why it only runs after check 2 proved every table it can reach is allowed.
// The query then runs wrapped with readonly=2 and ClickHouse's own limits, which are the enforcement;
// these checks keep the analyst to the intended tables and give a clear 400.
import type { ClickHouse } from '../../lib/clickhouse.ts';
import { SqlRejected, scanSql } from './sql-lexer.ts';

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
  /** The SQL to run: the analyst's statement wrapped with readonly=2 and the limits. */
  sql: string;
  tables: string[];
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
      const [row] = await this.ch.rows<{ db: string; fns: string[] }>('SELECT currentDatabase() AS db, (SELECT groupArray(lower(name)) FROM system.table_functions) AS fns');
      this.currentDb = row?.db ?? 'default';
      this.tableFunctions = new Set([...(row?.fns ?? []), 'file', 'url', 'remote', 's3', 'input']);
    }
    const existing = new Set((await this.ch.rows<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase()')).map((r) => r.name));
    return { db: this.currentDb, tableFunctions: this.tableFunctions, existing };
  }

  private notQueryable(name: string): SqlRejected {
    return new SqlRejected(0, `table ${name} cannot be queried here; queryable tables and views: ${this.allowedTables().join(', ')}`, 'table_not_allowed');
  }

  wrap(statement: string): string {
    const l = this.limits;
    // The newline before ')' ends a trailing -- comment in the analyst's text.
    return `SELECT * FROM (\n${statement}\n)\nSETTINGS readonly = 2, max_result_rows = ${Math.floor(l.maxRows)}, result_overflow_mode = 'throw', ` +
      `max_execution_time = ${Math.floor(l.maxSeconds)}, max_memory_usage = ${Math.floor(l.maxMemoryBytes)}`;
  }

  /** Throws SqlRejected with the reason; nothing the analyst wrote has run when it throws. */
  async check(text: string): Promise<GuardedQuery> {
    const scanned = scanSql(text);
    const first = scanned.tokens.find((t) => t.text !== '(');
    const verb = first?.kind === 'word' ? first.text.toUpperCase() : '';
    if (verb !== 'SELECT' && verb !== 'WITH') {
      throw new SqlRejected(first?.pos ?? 1, `only read queries (SELECT, or WITH ... SELECT) can run here; found ${first ? first.text : 'nothing'}`, 'not_a_select');
    }
    const ctx = await this.context();

    // 2. The parse tree.
    let astLines: string[];
    try {
      astLines = (await this.ch.rows<{ explain: string }>(`SELECT explain FROM (EXPLAIN AST ${scanned.statement}\n)`)).map((r) => r.explain);
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
      treeLines = (await this.ch.rows<{ explain: string }>(`SELECT explain FROM (EXPLAIN QUERY TREE ${this.wrap(scanned.statement)})`)).map((r) => r.explain);
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
    return { sql: this.wrap(scanned.statement), tables: [...tables].sort() };
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
  return new SqlRejected(0, msg, 'invalid_query');
}
