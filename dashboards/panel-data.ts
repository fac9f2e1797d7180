// Runs one panel: its SQL with the filters it declares as query parameters, read-only. A panel that
// reads a model's output says "no model run yet" (instead of failing) while the model has not run
// enough times or its table does not exist yet; a panel with a fallback SQL uses it when the primary
// reads a table this store does not have.
import type { ClickHouse } from '../lib/clickhouse.ts';
import { CH_ERROR, isClickHouseError } from '../lib/clickhouse-errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Filters } from './filters.ts';
import { paramsFor } from './filters.ts';
import type { Panel } from './panel-schema.ts';
import { identifierValues, type Registry } from './panel-registry.ts';
import { pipelineRows } from './pipeline-lag.ts';
import type { PipelineStatus } from '../transform/pipeline-status.ts';

export type PanelStatus = 'ok' | 'empty' | 'no_model_run' | 'unavailable' | 'error';

export interface PanelData {
  status: PanelStatus;
  message?: string;
  columns: string[];
  rows: Array<Record<string, unknown>>;
  ms: number;
}

export interface PanelContext {
  ch: ClickHouse;
  log: Logger;
  registry: Registry;
  /** The pipeline status of this process (GET /v1/pipeline/status), for the 'eventlog-lag' source. */
  pipeline: () => Promise<PipelineStatus>;
  /** Successful runs per model, read once per request (see modelRunCounts). */
  runs: Map<string, number>;
}

// Panels only read, in bounded time, with counts as JSON numbers. NOTE: a SETTINGS clause, not the
// client's per-query settings: on chDB those are SET on the shared session and would stay (a readonly
// session refuses every later write of the process).
export const READ_SETTINGS_CLAUSE = 'SETTINGS readonly = 2, max_execution_time = 30, output_format_json_quote_64bit_integers = 0';

/** The panel's SQL with the read-only settings clause added (panel SQL files carry no SETTINGS). */
export function readOnly(sqlText: string): string {
  return `${sqlText.trimEnd()}\n${READ_SETTINGS_CLAUSE}`;
}

export async function modelRunCounts(ch: ClickHouse): Promise<Map<string, number>> {
  const rows = await ch.rows<{ model: string; n: number | string }>(`SELECT model, count() AS n FROM model_runs FINAL WHERE status = 'ok' GROUP BY model`);
  return new Map(rows.map((r) => [r.model, Number(r.n)]));
}

export function isMissingTable(err: unknown): boolean {
  return isClickHouseError(err, CH_ERROR.UNKNOWN_TABLE);
}

function finish(rows: Array<Record<string, unknown>>, t0: number): PanelData {
  const columns = rows[0] ? Object.keys(rows[0]) : [];
  return { status: rows.length ? 'ok' : 'empty', columns, rows, ms: Date.now() - t0 };
}

export async function panelData(ctx: PanelContext, panel: Panel, filters: Filters): Promise<PanelData> {
  const t0 = Date.now();
  const noRun = (): PanelData => ({
    status: 'no_model_run',
    message: (panel.model_runs ?? 1) > 1 ? `needs ${panel.model_runs} successful runs of model '${panel.model}'` : `no model run yet: '${panel.model}' has not run`,
    columns: [],
    rows: [],
    ms: Date.now() - t0,
  });
  if (panel.model && (ctx.runs.get(panel.model) ?? 0) < (panel.model_runs ?? 1)) return noRun();

  if (panel.source === 'eventlog-lag') {
    const rows = pipelineRows(await ctx.pipeline());
    if (!rows.length) return { status: 'unavailable', message: 'this process holds neither the event log nor the transformer, and nothing was inserted yet', columns: [], rows: [], ms: Date.now() - t0 };
    return finish(rows, t0);
  }

  const params = { ...paramsFor(panel.params, filters), ...identifierValues(panel) };
  try {
    return finish(await ctx.ch.rows(readOnly(ctx.registry.sqlOf(panel)), params), t0);
  } catch (err) {
    if (isMissingTable(err) && panel.fallback_sql) {
      try {
        return finish(await ctx.ch.rows(readOnly(ctx.registry.sqlOf(panel, 'fallback_sql')), params), t0);
      } catch (err2) {
        err = err2;
      }
    }
    if (isMissingTable(err) && panel.model) return noRun();
    ctx.log.error({ err, panel: panel.id }, 'panel query failed');
    return { status: 'error', message: 'the panel query failed; see the server log', columns: [], rows: [], ms: Date.now() - t0 };
  }
}
