// The same panel definitions as Grafana dashboards on the ClickHouse data source plugin
// (grafana-clickhouse-datasource): query parameters become the plugin's time macros and dashboard
// variables, chart types the nearest Grafana panel. Panels that are not SQL (event-log lag) and hidden
// dashboards (customer 360, which needs a customer) are left out.
import { identifierValues, type Registry } from './panel-registry.ts';
import type { Format, Lang, Panel } from './panel-schema.ts';

export const GRAFANA_DATASOURCE = { type: 'grafana-clickhouse-datasource', uid: 'cvm-clickhouse' } as const;
/** Value of the country/segment variables meaning "all" (sorts first; no country or segment is named so). */
export const ALL = '(all)';

/** Query parameters as Grafana writes them; values are quoted and escaped by the `sqlstring` format. */
const PARAM_SQL: Record<string, string> = {
  'from:Date': 'toDate($__fromTime)',
  'to:Date': 'toDate($__toTime)',
  'country:String': `if(\${country:sqlstring} = '${ALL}', '', \${country:sqlstring})`,
  'segment:String': `if(\${segment:sqlstring} = '${ALL}', '', \${segment:sqlstring})`,
  'grain:String': '${grain:sqlstring}',
};

/** `identifiers`: the panel's `{name:Identifier}` values (allow-listed, see identifierValues), written in as names. */
export function toGrafanaSql(sqlText: string, identifiers: Record<string, string> = {}): string {
  const body = sqlText.replace(/^\s*--[^\n]*\n/gm, '').trim();
  return body.replace(/\{([A-Za-z_][A-Za-z0-9_]*):([^}]+)\}/g, (m, name: string, type: string) => {
    const r = type.trim() === 'Identifier' ? identifiers[name] : PARAM_SQL[`${name}:${type.trim()}`];
    if (!r) throw new Error(`no Grafana form for the query parameter ${m}`);
    return r;
  });
}

const UNITS: Partial<Record<Format, string>> = { percent: 'percentunit', seconds: 's', int: 'short', number: 'short' };
function unitOf(fmt: Format | undefined, currency: string): string | undefined {
  if (fmt === 'money') return `currency${currency}`;
  return fmt ? UNITS[fmt] : undefined;
}

export interface GrafanaExportOptions {
  lang?: Lang;
  /** Where the cvm UI answers, for links from tables to the customer 360 page. */
  uiUrl?: string;
  baseCurrency?: string;
}

type Json = Record<string, unknown>;

function label(panel: Panel, col: string, lang: Lang): string {
  const c = panel.columns?.[col];
  return c ? c[lang] : col;
}

function overrides(panel: Panel, lang: Lang, currency: string, cols: string[]): Json[] {
  return cols.flatMap((col) => {
    const c = panel.columns?.[col];
    if (!c) return [];
    const props: Json[] = [{ id: 'displayName', value: c[lang] }];
    const unit = unitOf(c.format, currency);
    if (unit) props.push({ id: 'unit', value: unit });
    if (c.format === 'int') props.push({ id: 'decimals', value: 0 });
    return [{ matcher: { id: 'byName', options: col }, properties: props }];
  });
}

function grafanaPanel(panel: Panel, sql: string, id: number, gridPos: Json, opts: Required<GrafanaExportOptions>): Json {
  const { lang, baseCurrency: currency } = opts;
  const enc = panel.encode ?? {};
  const cols = Object.keys(panel.columns ?? {});
  const timeseries = panel.chart === 'line';
  const base: Json = {
    id,
    title: panel.title[lang],
    description: panel.description?.[lang] ?? '',
    datasource: GRAFANA_DATASOURCE,
    gridPos,
    targets: [{
      refId: 'A',
      datasource: GRAFANA_DATASOURCE,
      editorType: 'sql',
      // Plugin formats: 0 time series (string columns become series labels), 1 table.
      format: timeseries ? 0 : 1,
      queryType: timeseries ? 'timeseries' : 'table',
      rawSql: toGrafanaSql(sql, identifierValues(panel)),
    }],
    fieldConfig: { defaults: {}, overrides: overrides(panel, lang, currency, cols) },
  };
  switch (panel.chart) {
    case 'kpi': {
      const name = enc.name ?? 'metric';
      const value = enc.value ?? 'value';
      return {
        ...base,
        type: 'stat',
        transformations: [
          { id: 'organize', options: { excludeByName: { previous: true } } },
          { id: 'rowsToFields', options: { mappings: [{ fieldName: name, handlerKey: 'field.name' }, { fieldName: value, handlerKey: 'field.value' }] } },
        ],
        options: { reduceOptions: { values: false, calcs: ['lastNotNull'], fields: '' }, textMode: 'value_and_name', colorMode: 'none', graphMode: 'none', justifyMode: 'center' },
      };
    }
    case 'line':
      return { ...base, type: 'timeseries', options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi' } } };
    case 'bar': {
      const transformations = enc.series && enc.value && enc.x
        ? [{ id: 'groupingToMatrix', options: { columnField: enc.series, rowField: enc.x, valueField: enc.value } }]
        : enc.y ? [{ id: 'organize', options: { excludeByName: Object.fromEntries(cols.filter((c) => c !== enc.x && !enc.y!.includes(c)).map((c) => [c, true])) } }] : [];
      return {
        ...base,
        type: 'barchart',
        transformations,
        options: { xField: enc.series ? undefined : enc.x, orientation: enc.horizontal ? 'horizontal' : 'auto', stacking: enc.stack ? 'normal' : 'none', legend: { showLegend: true, placement: 'bottom', displayMode: 'list' }, xTickLabelRotation: 0 },
      };
    }
    case 'pie':
      return { ...base, type: 'piechart', options: { pieType: 'donut', reduceOptions: { values: true, calcs: [], fields: `/^${enc.value ?? 'value'}$/` }, legend: { showLegend: true, placement: 'right', displayMode: 'table', values: ['value', 'percent'] } } };
    case 'treemap':
    case 'funnel':
      // Grafana has neither core treemap nor funnel: a horizontal bar gauge per row shows the same sizes.
      return { ...base, type: 'bargauge', options: { orientation: 'horizontal', displayMode: 'gradient', showUnfilled: true, reduceOptions: { values: true, calcs: [], fields: `/^${enc.value ?? 'value'}$/` } } };
    case 'heatmap':
      // A category × category grid: the rows pivoted into a table with coloured cells.
      return {
        ...base,
        type: 'table',
        transformations: [{ id: 'groupingToMatrix', options: { columnField: enc.x, rowField: enc.yCategory, valueField: enc.value } }],
        fieldConfig: { defaults: { custom: { cellOptions: { type: 'color-background', mode: 'gradient' } }, color: { mode: 'continuous-BlPu' }, unit: unitOf(panel.columns?.[enc.value ?? '']?.format, currency) }, overrides: [] },
      };
    case 'table': {
      const fc = base.fieldConfig as { overrides: Json[] };
      if (panel.link) {
        fc.overrides.push({
          matcher: { id: 'byName', options: panel.link.column },
          properties: [{ id: 'links', value: [{ title: label(panel, panel.link.column, lang), url: `${opts.uiUrl}/dashboards/customer/\${__value.raw}?lang=${lang}` }] }],
        });
      }
      return { ...base, type: 'table', options: { showHeader: true, cellHeight: 'sm' } };
    }
  }
}

function variables(panels: Panel[]): Json[] {
  const used = new Set(panels.flatMap((p) => p.params));
  const out: Json[] = [];
  const query = (name: string, text: string, sql: string): Json => ({
    name, label: text, type: 'query', datasource: GRAFANA_DATASOURCE, query: sql, definition: sql,
    refresh: 1, sort: 1, includeAll: false, multi: false, current: { text: ALL, value: ALL }, hide: 0,
  });
  if (used.has('country')) out.push(query('country', 'Country', `SELECT '${ALL}' UNION ALL SELECT DISTINCT country FROM events WHERE country != ''`));
  if (used.has('segment')) {
    out.push(query('segment', 'Segment', `SELECT '${ALL}' UNION ALL SELECT DISTINCT toString(segment) FROM rfm_scores WHERE run_id = (SELECT argMax(run_id, finished_at) FROM model_runs FINAL WHERE model = 'rfm' AND status = 'ok')`));
  }
  if (used.has('grain')) {
    out.push({ name: 'grain', label: 'Grain', type: 'custom', query: 'day,week', current: { text: 'day', value: 'day' }, options: [{ text: 'day', value: 'day', selected: true }, { text: 'week', value: 'week', selected: false }], hide: 0 });
  }
  return out;
}

const HEIGHT: Record<string, number> = { kpi: 5, table: 10, heatmap: 10 };

/** One Grafana dashboard JSON per visible dashboard, with the file name to write it under. */
export function grafanaDashboards(reg: Registry, options: GrafanaExportOptions = {}): Array<{ file: string; dashboard: Json }> {
  const opts: Required<GrafanaExportOptions> = { lang: options.lang ?? 'en', uiUrl: (options.uiUrl ?? 'http://localhost:3000').replace(/\/$/, ''), baseCurrency: options.baseCurrency ?? 'USD' };
  return reg.dashboards.filter((d) => !d.hidden).map((d) => {
    const panels = reg.panels.filter((p) => p.dashboard === d.id && p.sql);
    let x = 0;
    let y = 0;
    let rowH = 0;
    const out = panels.map((p, i) => {
      const w = (p.width ?? 6) * 2;
      const h = HEIGHT[p.chart] ?? 9;
      if (x + w > 24) {
        x = 0;
        y += rowH;
        rowH = 0;
      }
      const gp = { x, y, w, h };
      x += w;
      rowH = Math.max(rowH, h);
      return grafanaPanel(p, reg.sqlOf(p), i + 1, gp, opts);
    });
    return {
      file: `cvm-${d.id}.json`,
      dashboard: {
        uid: `cvm-${d.id}`,
        title: `cvm · ${d.title[opts.lang]}`,
        tags: ['cvm'],
        timezone: 'utc',
        editable: true,
        schemaVersion: 39,
        version: 1,
        time: { from: 'now-30d', to: 'now' },
        refresh: '',
        templating: { list: variables(panels) },
        annotations: { list: [] },
        links: [{ title: 'cvm dashboards', type: 'link', url: `${opts.uiUrl}/dashboards?dashboard=${d.id}&lang=${opts.lang}`, targetBlank: true }],
        panels: out,
      },
    };
  });
}
