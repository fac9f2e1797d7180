// One ClickHouse code path: @clickhouse/client over HTTP to a server (CLICKHOUSE_URL) or in-process on chDB.
import fs from 'node:fs';
import path from 'node:path';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Config } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { waitFor } from './wait-for.ts';

export type { ClickHouseClient };

export interface ClickHouse {
  client: ClickHouseClient;
  mode: 'embedded' | 'server';
  /** Run a SELECT and return rows as objects. Values go in params, never into the SQL text. */
  rows<T = Record<string, unknown>>(query: string, params?: Record<string, unknown>, settings?: Record<string, unknown>): Promise<T[]>;
  /** Run a statement that returns nothing (DDL, INSERT ... SELECT, ALTER). */
  exec(query: string, params?: Record<string, unknown>, settings?: Record<string, unknown>): Promise<void>;
  insert(table: string, values: readonly object[], settings?: Record<string, unknown>): Promise<void>;
  /**
   * A separate connection for untrusted SQL (the analyst's): `settings` and readonly=1 are fixed by the
   * engine before it answers, so nothing the text says can lift them. Close it when done.
   */
  openRestricted(settings: RestrictedSettings): Promise<RestrictedSession>;
  close(): Promise<void>;
}

export type RestrictedSettings = Record<string, number | string>;

export interface RestrictedSession {
  /** Runs one statement as it is; answers the parsed output of the JSON format. */
  json(query: string, format: 'JSONEachRow' | 'JSONCompactEachRowWithNames'): Promise<unknown>;
  close(): Promise<void>;
}

/** Server mode waits (with backoff, up to CVM_STARTUP_TIMEOUT_S) until the server answers its ping. */
export async function connectClickHouse(config: Config, log: Logger = createLogger({ name: 'clickhouse' })): Promise<ClickHouse> {
  let client: ClickHouseClient;
  let mode: ClickHouse['mode'];
  let openRestricted: (settings: RestrictedSettings) => Promise<RestrictedSession>;
  if (config.clickhouse.url) {
    client = createClient({
      url: config.clickhouse.url,
      username: config.clickhouse.user,
      password: config.clickhouse.password,
      database: config.clickhouse.database,
      request_timeout: 120_000,
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
    mode = 'server';
    openRestricted = async (settings) => restrictedServerSession(config, settings);
    try {
      await waitForServer(config, log);
    } catch (err) {
      await client.close();
      throw err;
    }
  } else {
    const dir = path.join(config.dataDir, 'clickhouse');
    fs.mkdirSync(dir, { recursive: true });
    // Loaded lazily so a server deployment never loads the embedded engine.
    const { createChdbConnection } = await import('chdb/connection');
    client = createClient({
      connection: createChdbConnection({ path: dir }),
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    } as Parameters<typeof createClient>[0]);
    mode = 'embedded';
    openRestricted = async (settings) => restrictedEmbeddedSession(createClient({ connection: createChdbConnection({ path: dir }) } as Parameters<typeof createClient>[0]), settings);
  }
  return wrap(client, mode, openRestricted);
}

/**
 * /ping, not a SELECT: it answers once the server takes requests and checks no credentials, so a wrong
 * password fails the first real query at once instead of being waited on until the timeout.
 */
async function waitForServer(config: Config, log: Logger): Promise<void> {
  const url = new URL(config.clickhouse.url!);
  url.username = '';
  url.password = '';
  // A client of its own with its logging off: each failed ping would be a warning of the client's, and the
  // wait reports them once.
  const probe = createClient({ url: config.clickhouse.url!, log: { level: ClickHouseLogLevel.OFF } });
  try {
    await waitFor(
      async () => {
        // Each attempt bounded on its own: a black-holed address would otherwise hold it for request_timeout.
        const res = await probe.ping({ select: false, abort_signal: AbortSignal.timeout(5000) });
        if (!res.success) throw res.error;
      },
      { dependency: 'ClickHouse', at: url.origin, timeoutMs: config.startup.timeoutS * 1000, log },
    );
  } finally {
    await probe.close();
  }
}

/**
 * readonly=1, not 2: at 1 the engine refuses every setting change (a SETTINGS clause cannot raise a
 * limit) and every table function that needs a temporary table: file, url, remote, s3, executable,
 * dictionary, mysql, postgresql, sqlite, format, ... (measured on chDB 3.4: readonly=2 still reads file()).
 */
const RESTRICTED_BASE: RestrictedSettings = { allow_ddl: 0, allow_introspection_functions: 0 };

/**
 * Embedded: a chDB connection of its own on the same data directory (each connection keeps its own
 * settings, and the engine runs connections side by side, so a slow query here does not hold up the
 * main connection). The settings are SET once, readonly=1 last, and read back: the session is used only
 * if the engine says it holds them.
 */
async function restrictedEmbeddedSession(client: ClickHouseClient, settings: RestrictedSettings): Promise<RestrictedSession> {
  const wanted = { ...RESTRICTED_BASE, ...settings };
  try {
    // One round trip: chDB turns the settings into SET statements in this order, readonly last.
    await client.command({ query: 'SELECT 1', clickhouse_settings: { ...wanted, readonly: 1 } as never });
    await verifySettings((q) => client.query({ query: q.query, query_params: q.params, format: 'JSONEachRow' }).then((r) => r.json()), { ...wanted, readonly: 1 });
  } catch (err) {
    await client.close();
    throw err;
  }
  return { json: (query, format) => runAsIs(client, query, format), close: () => client.close() };
}

/**
 * The statement goes to the engine exactly as given: client.query() would append `FORMAT x` to the text
 * (and after `EXPLAIN AST <text>` that FORMAT becomes part of the explained query); exec() sends the text
 * alone and the format travels as default_format (a chDB option, an HTTP setting on a server).
 */
async function runAsIs(client: ClickHouseClient, query: string, format: string): Promise<unknown> {
  const rs = await client.exec({ query, clickhouse_settings: { default_format: format } as never });
  let text = '';
  for await (const chunk of rs.stream) text += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
  return text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as unknown);
}

/**
 * Server: every request carries readonly=1 and the limits as HTTP settings (applied before the query
 * is parsed, so its SETTINGS clause cannot undo them), as CLICKHOUSE_ANALYST_USER when configured: a user
 * whose grants name only the analyst tables (see sql/query/analyst_user.sql), so the server refuses
 * system tables and table functions on its own.
 */
async function restrictedServerSession(config: Config, settings: RestrictedSettings): Promise<RestrictedSession> {
  const wanted = { ...RESTRICTED_BASE, ...settings, readonly: 1 };
  const client = createClient({
    url: config.clickhouse.url!,
    username: config.clickhouse.analystUser ?? config.clickhouse.user,
    password: config.clickhouse.analystUser ? config.clickhouse.analystPassword : config.clickhouse.password,
    database: config.clickhouse.database,
    request_timeout: 120_000,
    clickhouse_settings: wanted as never,
  });
  return { json: (query, format) => runAsIs(client, query, format), close: () => client.close() };
}

async function verifySettings(run: (q: { query: string; params: Record<string, unknown> }) => Promise<unknown>, wanted: RestrictedSettings): Promise<void> {
  const names = Object.keys(wanted);
  // One row, so a max_result_rows as small as 1 does not stop the read-back.
  const [row] = (await run({ query: 'SELECT groupArray(name) AS n, groupArray(value) AS v FROM system.settings WHERE name IN {names:Array(String)}', params: { names } })) as Array<{ n: string[]; v: string[] }>;
  const held = new Map((row?.n ?? []).map((name, i) => [name, row!.v[i]!]));
  for (const name of names) {
    if (Number(held.get(name)) !== Number(wanted[name]) && held.get(name) !== String(wanted[name])) {
      throw new Error(`restricted ClickHouse session: setting ${name} is ${held.get(name) ?? 'unknown'}, wanted ${wanted[name]}`);
    }
  }
}

/**
 * chDB keeps settings passed with one query for every later query of the process (measured: after an
 * insert with insert_deduplication_token, later inserts without one reused it and were silently dropped
 * as duplicates). So in embedded mode every call passes every setting any call has ever set, at its
 * default unless the call sets it. readonly cannot be reset once set: put it in the query's SETTINGS clause.
 */
class StickySettings {
  private readonly defaults = new Map<string, string>();
  constructor(private readonly client: ClickHouseClient) {}

  async with(settings: Record<string, unknown>): Promise<Record<string, unknown>> {
    if ('readonly' in settings) throw new Error("embedded ClickHouse: pass readonly in the query's SETTINGS clause, not as a per-query setting");
    for (const name of Object.keys(settings)) {
      if (this.defaults.has(name)) continue;
      const rs = await this.client.query({ query: 'SELECT default FROM system.settings WHERE name = {name:String}', query_params: { name }, format: 'JSONEachRow' });
      const [row] = (await rs.json()) as Array<{ default: string }>;
      if (!row) throw new Error(`unknown ClickHouse setting ${name}`);
      this.defaults.set(name, row.default);
    }
    return { ...Object.fromEntries(this.defaults), ...settings };
  }
}

function wrap(client: ClickHouseClient, mode: ClickHouse['mode'], openRestricted: ClickHouse['openRestricted']): ClickHouse {
  const sticky = mode === 'embedded' ? new StickySettings(client) : null;
  const settingsFor = async (settings: Record<string, unknown>) => (sticky ? sticky.with(settings) : settings) as never;
  return {
    client,
    mode,
    async rows<T>(query: string, params: Record<string, unknown> = {}, settings: Record<string, unknown> = {}) {
      const rs = await client.query({ query, query_params: params, format: 'JSONEachRow', clickhouse_settings: await settingsFor(settings) });
      return (await rs.json()) as T[];
    },
    async exec(query, params = {}, settings = {}) {
      await client.command({ query, query_params: params, clickhouse_settings: await settingsFor(settings) });
    },
    async insert(table, values, settings = {}) {
      if (values.length === 0) return;
      await client.insert({ table, values: values as object[], format: 'JSONEachRow', clickhouse_settings: await settingsFor(settings) });
    },
    openRestricted,
    close: () => client.close(),
  };
}

/** ClickHouse DateTime64(3) literal text in UTC, which JSONEachRow and parameters accept. */
export function chTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}
