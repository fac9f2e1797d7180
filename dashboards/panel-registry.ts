// Loads the dashboard definitions (dashboards.json, labels.json, panels/*.json) and checks each panel
// against its SQL file: the parameters the SQL uses must be exactly the ones the panel declares, with
// the declared types. A broken panel file is reported and left out; the rest are still served.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Value } from '@sinclair/typebox/value';
import { sql } from '../lib/sql.ts';
import {
  DashboardListSchema,
  IDENTIFIER_PARAMS,
  LabelsSchema,
  PARAM_TYPES,
  PanelSchema,
  type Dashboard,
  type IdentifierName,
  type LocalText,
  type Panel,
  type ParamName,
} from './panel-schema.ts';

export const DASHBOARDS_DIR = path.dirname(fileURLToPath(import.meta.url));

export interface Registry {
  dashboards: Dashboard[];
  panels: Panel[];
  labels: Record<string, LocalText>;
  /** SQL text per panel id (primary and fallback), read once. */
  sqlOf(panel: Panel, which?: 'sql' | 'fallback_sql'): string;
  /** Files that could not be used, with why. */
  problems: string[];
}

/** `{name:Type}` placeholders of a SQL text, comments left out. */
export function sqlParams(text: string): Map<string, string> {
  const body = text.replace(/--[^\n]*/g, '');
  const out = new Map<string, string>();
  for (const m of body.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*):([^}]+)\}/g)) {
    const prev = out.get(m[1]!);
    const type = m[2]!.trim();
    out.set(m[1]!, prev && prev !== type ? `${prev}|${type}` : type);
  }
  return out;
}

function isIdentifierName(name: string): name is IdentifierName {
  return Object.hasOwn(IDENTIFIER_PARAMS, name);
}

/**
 * The panel's `{name:Identifier}` values, each checked against IDENTIFIER_PARAMS (again at every use, not
 * only at load: an identifier goes into the SQL as a name, so nothing outside the list may get there).
 */
export function identifierValues(panel: Panel): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(panel.identifiers ?? {})) {
    const allowed: readonly string[] | undefined = isIdentifierName(name) ? IDENTIFIER_PARAMS[name] : undefined;
    if (!allowed || !allowed.includes(value)) throw new Error(`panel ${panel.id}: identifier ${name} = '${value}' is not one of ${allowed?.join(', ') ?? 'the allowed identifier parameters'}`);
    out[name] = value;
  }
  return out;
}

function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function schemaProblems(schema: Parameters<typeof Value.Errors>[0], value: unknown): string[] {
  return [...Value.Errors(schema, value)].slice(0, 3).map((e) => `${e.path || '/'} ${e.message}`);
}

export interface LoadOptions {
  dir?: string;
  /** SQL text by file name (without .sql) in sql/dashboards/. */
  readSql?: (name: string) => string;
}

export function loadRegistry(opts: LoadOptions = {}): Registry {
  const dir = opts.dir ?? DASHBOARDS_DIR;
  const readSql = opts.readSql ?? ((name: string) => sql(`dashboards/${name}`));
  const problems: string[] = [];

  const dashboardsRaw = readJson(path.join(dir, 'dashboards.json'));
  if (!Value.Check(DashboardListSchema, dashboardsRaw)) throw new Error(`dashboards.json: ${schemaProblems(DashboardListSchema, dashboardsRaw).join('; ')}`);
  const dashboards = [...dashboardsRaw].sort((a, b) => a.order - b.order);
  const labelsRaw = readJson(path.join(dir, 'labels.json'));
  if (!Value.Check(LabelsSchema, labelsRaw)) throw new Error(`labels.json: ${schemaProblems(LabelsSchema, labelsRaw).join('; ')}`);

  const texts = new Map<string, string>();
  const panels: Panel[] = [];
  const panelDir = path.join(dir, 'panels');
  for (const name of fs.readdirSync(panelDir).filter((f) => f.endsWith('.json')).sort()) {
    const where = `panels/${name}`;
    let raw: unknown;
    try {
      raw = readJson(path.join(panelDir, name));
    } catch (err) {
      problems.push(`${where}: not valid JSON (${(err as Error).message})`);
      continue;
    }
    if (!Value.Check(PanelSchema, raw)) {
      problems.push(`${where}: ${schemaProblems(PanelSchema, raw).join('; ')}`);
      continue;
    }
    const p = raw;
    const issues = checkPanel(p, dashboards, panels, readSql, texts);
    if (issues.length) {
      problems.push(...issues.map((i) => `${where}: ${i}`));
      continue;
    }
    panels.push(p);
  }
  panels.sort((a, b) => a.order - b.order || a.id.localeCompare(b.id));

  return {
    dashboards,
    panels,
    labels: labelsRaw,
    problems,
    sqlOf(panel, which = 'sql') {
      const name = panel[which];
      if (!name) throw new Error(`panel ${panel.id} has no ${which}`);
      return texts.get(name)!;
    },
  };
}

function checkPanel(p: Panel, dashboards: Dashboard[], seen: Panel[], readSql: (n: string) => string, texts: Map<string, string>): string[] {
  const issues: string[] = [];
  if (seen.some((s) => s.id === p.id)) issues.push(`panel id '${p.id}' is used twice`);
  if (!dashboards.some((d) => d.id === p.dashboard)) issues.push(`dashboard '${p.dashboard}' is not in dashboards.json`);
  if (!!p.sql === !!p.source) issues.push('needs exactly one of "sql" or "source"');
  if (p.link && p.chart !== 'table') issues.push('"link" only applies to table panels');
  for (const which of ['sql', 'fallback_sql'] as const) {
    const name = p[which];
    if (!name) continue;
    let text: string;
    try {
      text = readSql(name);
    } catch {
      issues.push(`sql/dashboards/${name}.sql does not exist`);
      continue;
    }
    texts.set(name, text);
    if (/\bSETTINGS\b/i.test(text.replace(/--[^\n]*/g, ''))) issues.push(`${name}.sql has a SETTINGS clause; the dashboard runner adds its own (read-only, time limit)`);
    if (/;\s*$/.test(text.replace(/--[^\n]*/g, '').trim())) issues.push(`${name}.sql ends with ';': a panel is one SELECT`);
    const used = sqlParams(text);
    for (const [param, type] of used) {
      if (type === 'Identifier') {
        if (!isIdentifierName(param)) issues.push(`${name}.sql uses {${param}:Identifier}; allowed identifier parameters: ${Object.keys(IDENTIFIER_PARAMS).join(', ')}`);
        else if (!p.identifiers?.[param]) issues.push(`${name}.sql uses {${param}:Identifier} but "identifiers" does not set '${param}' (one of ${IDENTIFIER_PARAMS[param].join(', ')})`);
        continue;
      }
      const expected = PARAM_TYPES[param as ParamName];
      if (!expected) issues.push(`${name}.sql uses {${param}:${type}}; allowed parameters: ${Object.keys(PARAM_TYPES).join(', ')}`);
      else if (type !== expected) issues.push(`${name}.sql declares {${param}:${type}}; it must be {${param}:${expected}}`);
      else if (!p.params.includes(param as ParamName)) issues.push(`${name}.sql uses {${param}:${type}} but "params" does not list '${param}'`);
    }
    for (const param of p.params) if (!used.has(param)) issues.push(`"params" lists '${param}' but ${name}.sql does not use it`);
    for (const param of Object.keys(p.identifiers ?? {})) if (used.get(param) !== 'Identifier') issues.push(`"identifiers" sets '${param}' but ${name}.sql does not use {${param}:Identifier}`);
  }
  return issues;
}

let cached: Registry | null = null;
/** The shipped definitions, loaded once per process. */
export function registry(): Registry {
  cached ??= loadRegistry();
  return cached;
}
