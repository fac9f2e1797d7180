// Analyst SQL: POST /v1/query runs one read-only SELECT over the allow-listed tables (see
// query/sql-guard.ts) on a restricted session of its own (readonly=1 and ClickHouse's result, time and
// memory limits, set before the text arrives). Analyst queries wait in their own queue (query/analyst-queue.ts)
// so they never crowd out the collector or the storefront; one time budget covers the checks and the run.
// Every request is audited (key, role, the SQL, rows returned, or why it was refused).
import { CH_ERROR, clickHouseErrorCode, isClickHouseError } from '../lib/clickhouse-errors.ts';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ApiDeps } from './services.ts';
import { requireRole } from './auth.ts';
import { actorOf, recordAudit } from '../lib/audit.ts';
import { SqlGuard, SqlRejected, clickhouseMessage, explainSettings, querySettings, type GuardedQuery } from './query/sql-guard.ts';
import { AnalystQueue, QueueRefused } from './query/analyst-queue.ts';
import { sendCsv } from './csv.ts';
import type { ScannedSql } from './query/sql-lexer.ts';

const QueryBody = Type.Object(
  {
    sql: Type.String({ minLength: 1, maxLength: 100_000, description: 'one SELECT (or WITH … SELECT); no SETTINGS, FORMAT or table functions' }),
    format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json' })),
  },
  { additionalProperties: false },
);

type Outcome =
  | { kind: 'rejected'; err: SqlRejected }
  | { kind: 'failed'; message: string; code: string | null }
  | { kind: 'ok'; guarded: GuardedQuery; columns: string[]; rows: Array<Record<string, unknown>> };

export default async function queryRoutes(app: FastifyInstance, opts: { deps: ApiDeps }): Promise<void> {
  const { deps } = opts;
  const api = deps.config.api;
  const limits = { maxRows: api.queryMaxRows, maxSeconds: api.queryMaxSeconds, maxMemoryBytes: api.queryMaxMemoryBytes };
  const guard = new SqlGuard(deps.ch, limits);
  const queue = new AnalystQueue({ concurrency: api.queryConcurrency, maxWaiting: api.queryQueueSize, maxWaitMs: api.queryQueueWaitSeconds * 1000, perKey: 1 });

  /** The checks and the query on restricted sessions, inside one time budget of queryMaxSeconds. */
  async function runGuarded(scanned: ScannedSql): Promise<Outcome> {
    const deadline = Date.now() + limits.maxSeconds * 1000;
    let guarded: GuardedQuery;
    const checking = await deps.ch.openRestricted(explainSettings(limits, api.queryMaxThreads));
    try {
      guarded = await guard.check(scanned, checking);
    } catch (err) {
      if (err instanceof SqlRejected) return { kind: 'rejected', err };
      throw err;
    } finally {
      await checking.close();
    }
    const secondsLeft = (deadline - Date.now()) / 1000;
    const outOfTime = { kind: 'failed', code: CH_ERROR.TIMEOUT_EXCEEDED, message: `Timeout exceeded: the checks used the time budget of ${limits.maxSeconds} s (constant subqueries are computed while checking)` } as const;
    if (secondsLeft < 0.05) return outOfTime;
    let session;
    try {
      session = await deps.ch.openRestricted(querySettings(limits, api.queryMaxThreads, secondsLeft));
    } catch (err) {
      // The session's own setup runs under the few milliseconds left.
      if (isClickHouseError(err, CH_ERROR.TIMEOUT_EXCEEDED)) return outOfTime;
      throw err;
    }
    try {
      const [names, ...data] = (await session.json(guarded.sql, 'JSONCompactEachRowWithNames')) as unknown[][];
      const columns = (names ?? []).map(String);
      return { kind: 'ok', guarded, columns, rows: data.map((d) => Object.fromEntries(columns.map((c, i) => [c, d[i]]))) };
    } catch (err) {
      return { kind: 'failed', message: clickhouseMessage(err), code: clickHouseErrorCode(err) };
    } finally {
      await session.close();
    }
  }

  const refuse = (reply: FastifyReply, err: SqlRejected) =>
    reply.code(400).send({ error: err.code, field: 'sql', message: err.message, ...(err.position > 0 ? { position: err.position } : {}) });

  app.post<{ Body: { sql: string; format?: 'json' | 'csv' } }>(
    '/v1/query',
    {
      preHandler: requireRole(deps, 'analyst'),
      schema: {
        summary: 'Run a read-only SQL query over the analyst tables; {"rows": [...]} or CSV',
        description:
          `Runs on a restricted session: readonly=1, max_result_rows=${limits.maxRows} (result_overflow_mode=throw), max_execution_time=${limits.maxSeconds}s for the checks and the run together, ` +
          `max_memory_usage=${limits.maxMemoryBytes} bytes. At most ${api.queryConcurrency} analyst queries run at once and ${api.queryQueueSize} wait (up to ${api.queryQueueWaitSeconds}s); ` +
          'beyond that 429, or 503 when the wait runs out, both with Retry-After.',
        tags: ['query'],
        body: QueryBody,
      },
    },
    async (req, reply) => {
      const text = req.body.sql;
      const started = Date.now();
      const record = (status: string, extra: Record<string, unknown>) =>
        recordAudit(deps.ch, actorOf(req.principal), 'query', '', { sql: text, status, ms: Date.now() - started, ...extra });
      let scanned: ScannedSql;
      try {
        scanned = SqlGuard.scan(text);
      } catch (err) {
        if (!(err instanceof SqlRejected)) throw err;
        await record('rejected', { reason: err.message });
        return refuse(reply, err);
      }
      let outcome: Outcome;
      try {
        outcome = await queue.run(req.principal?.keyId ?? req.ip, () => runGuarded(scanned));
      } catch (err) {
        if (!(err instanceof QueueRefused)) throw err;
        await record('queued_out', { reason: err.message });
        return reply.code(err.status).header('Retry-After', String(err.retryAfterSeconds)).send({ error: err.code, field: 'sql', message: err.message });
      }
      if (outcome.kind === 'rejected') {
        await record('rejected', { reason: outcome.err.message });
        return refuse(reply, outcome.err);
      }
      if (outcome.kind === 'failed') {
        const { message, code } = outcome;
        const tooLarge = code === CH_ERROR.TOO_MANY_ROWS_OR_BYTES;
        await record('failed', { error: message });
        return reply.code(400).send({
          error: tooLarge ? 'result_too_large' : code === CH_ERROR.TIMEOUT_EXCEEDED ? 'query_timeout' : 'query_failed',
          field: 'sql',
          message: tooLarge ? `the result has more than ${limits.maxRows} rows: add a LIMIT or aggregate` : message,
        });
      }
      const { guarded, columns, rows } = outcome;
      await record('ok', { rows: rows.length, tables: guarded.tables });
      if (req.body.format === 'csv') return sendCsv(reply, 'query.csv', columns, rows);
      return { columns, rows, row_count: rows.length, tables: guarded.tables, elapsed_ms: Date.now() - started };
    },
  );

  app.get('/v1/query/queue', { preHandler: requireRole(deps, 'analyst'), schema: { summary: 'Analyst queries running and waiting now, and the limits', tags: ['query'] } }, async () => ({
    ...queue.stats(),
    concurrency: api.queryConcurrency,
    queue_size: api.queryQueueSize,
    wait_seconds: api.queryQueueWaitSeconds,
  }));

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
