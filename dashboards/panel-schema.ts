// What a panel file in dashboards/panels/*.json may say. An analyst adds a panel by writing one of these
// and a .sql file in sql/dashboards/; the loader checks both before the API serves anything.
import { Type, type Static } from '@sinclair/typebox';

export const LANGS = ['en', 'zh-CN'] as const;
export type Lang = (typeof LANGS)[number];

export const CHART_TYPES = ['kpi', 'line', 'bar', 'pie', 'treemap', 'heatmap', 'funnel', 'table'] as const;
export type ChartType = (typeof CHART_TYPES)[number];

/** Filters a panel's SQL may use, with the one ClickHouse type each must be declared with. */
export const PARAM_TYPES = {
  from: 'Date',
  to: 'Date',
  country: 'String',
  segment: 'String',
  grain: 'String',
  customer: 'String',
} as const;
export type ParamName = keyof typeof PARAM_TYPES;
export const PARAM_NAMES = Object.keys(PARAM_TYPES) as ParamName[];

/**
 * `{name:Identifier}` parameters a panel's SQL may use (one SQL file for several panels that differ only
 * in a column), each with the columns a panel may name. The panel file fixes the value, never a request;
 * the loader checks it against this list, so only these names ever reach the SQL as identifiers.
 */
export const IDENTIFIER_PARAMS = {
  /** A visitor dimension of events_resolved. */
  dim: ['country', 'device'],
} as const;
export type IdentifierName = keyof typeof IDENTIFIER_PARAMS;

export const FORMATS = ['money', 'int', 'number', 'percent', 'seconds', 'date', 'datetime', 'text'] as const;
export type Format = (typeof FORMATS)[number];

const Text = Type.Object({ en: Type.String({ minLength: 1 }), 'zh-CN': Type.String({ minLength: 1 }) }, { additionalProperties: false });
export type LocalText = Static<typeof Text>;

const Column = Type.Object(
  {
    en: Type.String({ minLength: 1 }),
    'zh-CN': Type.String({ minLength: 1 }),
    format: Type.Optional(Type.Union(FORMATS.map((f) => Type.Literal(f)))),
    /** Drawn dashed: the previous period's line next to the current one. */
    previous: Type.Optional(Type.Boolean()),
    /** Which way a key figure should move: colours its change against the previous period. */
    better: Type.Optional(Type.Union([Type.Literal('higher'), Type.Literal('lower')])),
  },
  { additionalProperties: false },
);
export type ColumnSpec = Static<typeof Column>;

const Encode = Type.Object(
  {
    /** Category or time axis column (line, bar, heatmap). */
    x: Type.Optional(Type.String()),
    /** Value columns, one series each (line, bar). */
    y: Type.Optional(Type.Array(Type.String(), { minItems: 1 })),
    /** Long format: a column whose values name the series (bar/line), with `value` holding the number. */
    series: Type.Optional(Type.String()),
    /** Label column (pie, treemap, funnel, kpi). */
    name: Type.Optional(Type.String()),
    /** Number column (pie, treemap, funnel, heatmap, long-format bar). */
    value: Type.Optional(Type.String()),
    /** Second axis of a heatmap. */
    yCategory: Type.Optional(Type.String()),
    /** Heatmap: first category at the top (cohorts: oldest first). */
    yInverse: Type.Optional(Type.Boolean()),
    /** Bars drawn horizontally (long labels). */
    horizontal: Type.Optional(Type.Boolean()),
    stack: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type EncodeSpec = Static<typeof Encode>;

export const PanelSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,63}$' }),
    dashboard: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,31}$' }),
    order: Type.Integer({ minimum: 0, maximum: 10_000 }),
    title: Text,
    description: Type.Optional(Text),
    /** File name (without .sql) in sql/dashboards/. Either sql or source. */
    sql: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,63}$' })),
    /** Used when `sql` reads a table that this store does not have yet (e.g. sessions on an old store). */
    fallback_sql: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,63}$' })),
    /** A built-in data source that is not SQL (e.g. 'eventlog-lag'); such panels are not exported to Grafana. */
    source: Type.Optional(Type.Literal('eventlog-lag')),
    chart: Type.Union(CHART_TYPES.map((c) => Type.Literal(c))),
    params: Type.Array(Type.Union(PARAM_NAMES.map((p) => Type.Literal(p))), { uniqueItems: true }),
    /** Values of the SQL's `{name:Identifier}` parameters (see IDENTIFIER_PARAMS). */
    identifiers: Type.Optional(Type.Object({ dim: Type.Optional(Type.Union(IDENTIFIER_PARAMS.dim.map((c) => Type.Literal(c)))) }, { additionalProperties: false })),
    /** Width on a 12-column grid. */
    width: Type.Optional(Type.Integer({ minimum: 2, maximum: 12 })),
    encode: Type.Optional(Encode),
    /** Labels and formats of columns (for kpi: of the metric names in the `name` column). */
    columns: Type.Optional(Type.Record(Type.String(), Column)),
    /** A column whose value opens the customer 360 page. */
    link: Type.Optional(Type.Object({ column: Type.String(), to: Type.Literal('customer') }, { additionalProperties: false })),
    /** The model whose output this panel reads: without enough ok runs it says "no model run yet". */
    model: Type.Optional(Type.String({ pattern: '^[a-z0-9_-]{1,32}$' })),
    model_runs: Type.Optional(Type.Integer({ minimum: 1, maximum: 2 })),
  },
  { additionalProperties: false },
);
export type Panel = Static<typeof PanelSchema>;

export const DashboardSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,31}$' }),
    order: Type.Integer({ minimum: 0 }),
    title: Text,
    /** Not a tab: opened from elsewhere (the customer 360 page). */
    hidden: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type Dashboard = Static<typeof DashboardSchema>;

export const DashboardListSchema = Type.Array(DashboardSchema, { minItems: 1 });
export const LabelsSchema = Type.Record(Type.String(), Text);
