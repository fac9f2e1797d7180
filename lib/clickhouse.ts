// One ClickHouse code path: @clickhouse/client over HTTP to a server (CLICKHOUSE_URL) or in-process on chDB.
import fs from 'node:fs';
import path from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Config } from './config.ts';

export type { ClickHouseClient };

export interface ClickHouse {
  client: ClickHouseClient;
  mode: 'embedded' | 'server';
  /** Run a SELECT and return rows as objects. Values go in params, never into the SQL text. */
  rows<T = Record<string, unknown>>(query: string, params?: Record<string, unknown>, settings?: Record<string, unknown>): Promise<T[]>;
  /** Run a statement that returns nothing (DDL, INSERT ... SELECT, ALTER). */
  exec(query: string, params?: Record<string, unknown>, settings?: Record<string, unknown>): Promise<void>;
  insert(table: string, values: readonly object[], settings?: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

export async function connectClickHouse(config: Config): Promise<ClickHouse> {
  let client: ClickHouseClient;
  let mode: ClickHouse['mode'];
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
  }
  return wrap(client, mode);
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

function wrap(client: ClickHouseClient, mode: ClickHouse['mode']): ClickHouse {
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
    close: () => client.close(),
  };
}

/** ClickHouse DateTime64(3) literal text in UTC, which JSONEachRow and parameters accept. */
export function chTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}
