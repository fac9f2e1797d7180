// Analyst SQL: POST /v1/query runs one read-only SELECT over the allow-listed tables (see
// query/sql-guard.ts) under readonly=2 and ClickHouse's result, time and memory limits. Every request is
// audited (key, role, the SQL, rows returned, or why it was refused).
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from './deps.ts';
import { requireRole } from './auth.ts';
import { audit } from './audit.ts';
import { SqlGuard, SqlRejected, clickhouseMessage } from './query/sql-guard.ts';
import { sendCsv } from './csv.ts';

const QueryBody = Type.Object(
  {
    sql: Type.String({ minLength: 1, maxLength: 100_000, description: 'one SELECT (or WITH … SELECT); no SETTINGS, FORMAT or table functions' }),
    format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json' })),
  },
  { additionalProperties: false },
);

export default async function queryRoutes(app: FastifyInstance, opts: { deps: AppDeps }): Promise<void> {
  const { deps } = opts;
  const limits = { maxRows: deps.config.api.queryMaxRows, maxSeconds: deps.config.api.queryMaxSeconds, maxMemoryBytes: deps.config.api.queryMaxMemoryBytes };
  const guard = new SqlGuard(deps.ch, limits);

  app.post<{ Body: { sql: string; format?: 'json' | 'csv' } }>(
    '/v1/query',
    {
      preHandler: requireRole(deps, 'analyst'),
      schema: {
        summary: 'Run a read-only SQL query over the analyst tables; {"rows": [...]} or CSV',
        description: `Runs with readonly=2, max_result_rows=${limits.maxRows} (result_overflow_mode=throw), max_execution_time=${limits.maxSeconds}s, max_memory_usage=${limits.maxMemoryBytes} bytes.`,
        tags: ['query'],
        body: QueryBody,
      },
    },
    async (req, reply) => {
      const text = req.body.sql;
      const started = Date.now();
      const record = (status: string, extra: Record<string, unknown>) =>
        audit(deps.ch, req.principal, 'query', '', { sql: text, status, ms: Date.now() - started, ...extra });
      let guarded;
      try {
        guarded = await guard.check(text);
      } catch (err) {
        if (!(err instanceof SqlRejected)) throw err;
        await record('rejected', { reason: err.message });
        return reply.code(400).send({ error: err.code, field: 'sql', message: err.message, ...(err.position > 0 ? { position: err.position } : {}) });
      }
      let columns: string[];
      let rows: Array<Record<string, unknown>>;
      try {
        const rs = await deps.ch.client.query({ query: guarded.sql, format: 'JSONCompactEachRowWithNames' });
        const [names, ...data] = (await rs.json()) as unknown[][];
        columns = (names ?? []).map(String);
        rows = data.map((d) => Object.fromEntries(columns.map((c, i) => [c, d[i]])));
      } catch (err) {
        const message = clickhouseMessage(err);
        const tooLarge = /Limit for result exceeded/i.test(message);
        await record('failed', { error: message });
        return reply.code(400).send({
          error: tooLarge ? 'result_too_large' : /Timeout exceeded/i.test(message) ? 'query_timeout' : 'query_failed',
          field: 'sql',
          message: tooLarge ? `the result has more than ${limits.maxRows} rows: add a LIMIT or aggregate` : message,
        });
      }
      await record('ok', { rows: rows.length, tables: guarded.tables });
      if (req.body.format === 'csv') return sendCsv(reply, 'query.csv', columns, rows);
      return { columns, rows, row_count: rows.length, tables: guarded.tables, elapsed_ms: Date.now() - started };
    },
  );

  app.get('/v1/query/tables', { preHandler: requireRole(deps, 'analyst'), schema: { summary: 'Tables and views the query endpoint can read, with their columns', tags: ['query'] } }, async () => {
    const rows = await deps.ch.rows<{ table: string; name: string; type: string }>(
      `SELECT table, name, type FROM system.columns WHERE database = currentDatabase() AND table IN {t:Array(String)} ORDER BY table, position`,
      { t: guard.allowedTables() },
    );
    const tables: Record<string, Array<{ name: string; type: string }>> = {};
    for (const r of rows) (tables[r.table] ??= []).push({ name: r.name, type: r.type });
    return { tables };
  });
}
