// One typed configuration, read once from the environment at start-up and passed into factories.
// Modules never read process.env themselves. A bad value stops start-up naming the variable.
import path from 'node:path';
import ipaddr from 'ipaddr.js';

export class ConfigError extends Error {
  constructor(readonly variable: string, readonly expected: string, readonly got: string) {
    super(`Invalid ${variable}=${JSON.stringify(got)}: expected ${expected}`);
    this.name = 'ConfigError';
  }
}

export interface Config {
  dataDir: string;
  host: string;
  port: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  clickhouse: {
    url: string | null; user: string; password: string; database: string;
    /** Server mode: the restricted user analyst SQL runs as (sql/query/analyst_user.sql); null = the main user, readonly=1. */
    analystUser: string | null; analystPassword: string;
  };
  kafka: { brokers: string[]; clientId: string; idempotent: boolean; sessionTimeoutMs: number; partitions: number } | null;
  /** CVM_STARTUP_TIMEOUT_S: how long start-up waits for Kafka and a ClickHouse server to answer (0: one attempt). */
  startup: { timeoutS: number };
  /** events: live traffic (the collector's); bulk: history loads (the demo), drained by a consumer of its own beside it. */
  topics: { events: string; bulk: string };
  /** adminFile: where the bootstrap admin key came from when cvm keeps it (data/admin.key), else null. */
  keys: { admin: string | null; adminFile: string | null; demoWrite: string; demoSite: string; demoOrigins: string[] };
  baseCurrency: string;
  /** Collector the shop's back end sends its events to where this process runs no collector (distributed api role). */
  collectorUrl: string | null;
  demo: boolean;
  /** Size of the demo shop loaded on first start (CVM_DEMO_CUSTOMERS, CVM_DEMO_DAYS). */
  demoSize: { customers: number; days: number };
  encryptionKey: string | null;
  /** File holding the key-encryption key (CVM_ENCRYPTION_KEY_FILE), e.g. a mounted secret outside the data directory. */
  encryptionKeyFile: string | null;
  /** Master secret the per-site identity-verification secrets are derived from (CVM_IDENTITY_KEY); else a generated data-dir file. */
  identityKey: string | null;
  /** CVM_IDENTITY_VERIFICATION: 'required' (default) or 'provisional' (unsigned browser identifies count for never-vouched customers). */
  identityVerification: 'required' | 'provisional';
  schedules: { rfm: string; clv: string; churn: string; recs: string };
  models: {
    rfmWindowDays: number;
    clvDiscountRate: number; // annual
    clvHorizonDays: number;
    churnHorizonDays: number;
  };
  /** highWaterPct: percent of maxBytes from which the collector answers 503 (back-pressure before the hard limit). */
  log: { retentionHours: number; maxBytes: number; highWaterPct: number };
  /** CVM_SHUTDOWN_TIMEOUT_S: how long a SIGTERM/SIGINT drain may take before the process exits non-zero. */
  shutdown: { timeoutS: number };
  collector: { maxBatchEvents: number; maxBodyBytes: number; rateLimitPerMinute: number };
  transform: { batchMax: number; flushMs: number };
  api: {
    /** Browser origins allowed to call the secret-key API (dashboards on another host); empty = same origin only. */
    corsOrigins: string[];
    /** Requests per minute per secret key (token bucket). */
    rateLimitPerMinute: number;
    /** Limits of POST /v1/query, enforced by ClickHouse itself. */
    queryMaxRows: number;
    queryMaxSeconds: number;
    queryMaxMemoryBytes: number;
    /** Analyst queries' own budget: how many run at once, how many may wait, for how long; threads each. */
    queryConcurrency: number;
    queryQueueSize: number;
    queryQueueWaitSeconds: number;
    queryMaxThreads: number;
    /** CVM_TRUST_PROXY: false (default), a hop count, or the proxies' addresses/CIDRs: whose X-Forwarded-* to believe. */
    trustProxy: false | number | string[];
  };
  /** CVM_WEBHOOK_ALLOW_HOSTS: hosts segment webhooks may reach even on private addresses (lower case). */
  webhooks: { allowHosts: string[] };
  /** Backups (lib/backup): where they go (never inside dataDir), CVM_BACKUP_CRON ('off' or cron), how many the schedule keeps. */
  backup: { dir: string; cron: string; keep: number };
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string, def: string): string {
  const v = env[name];
  return v === undefined || v === '' ? def : v;
}

function optional(env: Env, name: string): string | null {
  const v = env[name];
  return v === undefined || v === '' ? null : v;
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(name, `an integer from ${min} to ${max}`, raw);
  return n;
}

function num(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new ConfigError(name, `a number from ${min} to ${max}`, raw);
  return n;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, 'true or false', raw);
}

function oneOf<T extends string>(env: Env, name: string, def: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(name, `one of ${allowed.join(', ')}`, raw);
  return raw as T;
}

function cron(env: Env, name: string, def: string): string {
  const v = str(env, name, def);
  const fields = v.trim().split(/\s+/);
  if (v !== 'off' && (fields.length < 5 || fields.length > 6)) throw new ConfigError(name, 'a cron expression with 5 or 6 fields, or "off"', v);
  return v;
}

function url(env: Env, name: string): string | null {
  const v = optional(env, name);
  if (v === null) return null;
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
  } catch {
    throw new ConfigError(name, 'an http(s) URL such as http://localhost:8123', v);
  }
  return v;
}

function currency(env: Env, name: string, def: string): string {
  const v = str(env, name, def).toUpperCase();
  if (!/^[A-Z]{3}$/.test(v)) throw new ConfigError(name, 'a 3-letter ISO-4217 currency code such as USD', v);
  return v;
}

function origins(env: Env, name: string): string[] {
  const list = str(env, name, '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const o of list) {
    if (o === '*') continue;
    let u: URL | null = null;
    try {
      u = new URL(o);
    } catch {
      u = null;
    }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.origin !== o) throw new ConfigError(name, 'a comma-separated list of origins such as https://admin.example.com (scheme://host[:port], no path), or *', o);
  }
  return list;
}

// Fastify's trustProxy takes a hop count or addresses; `true` (trust anyone's X-Forwarded-For) is refused.
function trustProxy(env: Env): false | number | string[] {
  const raw = optional(env, 'CVM_TRUST_PROXY');
  if (raw === null || /^(0|false|no|off)$/i.test(raw)) return false;
  if (/^\d+$/.test(raw)) return int(env, 'CVM_TRUST_PROXY', 0, 1, 64);
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const address = (a: string) => {
    try {
      return a.includes('/') ? Boolean(ipaddr.parseCIDR(a)) : ipaddr.isValid(a);
    } catch {
      return false;
    }
  };
  if (!list.length || !list.every((a) => address(a) || ['loopback', 'linklocal', 'uniquelocal'].includes(a))) {
    throw new ConfigError('CVM_TRUST_PROXY', 'the number of proxy hops in front of cvm, or a comma-separated list of proxy addresses/CIDRs (e.g. 10.0.0.1,10.1.0.0/16 or loopback); true is not accepted: it lets any client fake its address', raw);
  }
  return list;
}

function hostList(env: Env, name: string): string[] {
  const list = str(env, name, '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const h of list) {
    if (!/^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*\.?|\d{1,3}(?:\.\d{1,3}){3}|\[?[0-9a-f:.]+\]?)$/.test(h)) throw new ConfigError(name, 'a comma-separated list of host names or IP addresses (no scheme, port or path)', h);
  }
  return list.map((h) => h.replace(/^\[|\]$/g, '').replace(/\.$/, ''));
}

function encryptionKey(env: Env): string | null {
  const v = optional(env, 'CVM_ENCRYPTION_KEY');
  if (v === null) return null;
  const bytes = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64');
  if (bytes.length !== 32) throw new ConfigError('CVM_ENCRYPTION_KEY', '32 bytes as 64 hex characters or base64', '<redacted>');
  return v;
}

function identityKey(env: Env): string | null {
  const v = optional(env, 'CVM_IDENTITY_KEY');
  if (v !== null && v.length < 32) throw new ConfigError('CVM_IDENTITY_KEY', 'a random secret of at least 32 characters', '<redacted>');
  return v;
}

/** Each topic is drained by a consumer group of its own: one topic for both would be read by both groups. */
function topics(env: Env): Config['topics'] {
  const events = str(env, 'CVM_TOPIC_EVENTS', 'cvm.events.raw');
  const bulk = str(env, 'CVM_TOPIC_BULK', 'cvm.events.bulk');
  if (bulk === events) throw new ConfigError('CVM_TOPIC_BULK', `a topic other than CVM_TOPIC_EVENTS (${events})`, bulk);
  return { events, bulk };
}

// A backup inside the data directory would be copied into the next one and moved aside by `cvm restore --force`.
function backup(env: Env, dataDir: string): Config['backup'] {
  const dir = path.resolve(str(env, 'CVM_BACKUP_DIR', `${dataDir}-backups`));
  const rel = path.relative(dataDir, dir);
  if (rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel))) throw new ConfigError('CVM_BACKUP_DIR', `a directory outside CVM_DATA_DIR (${dataDir})`, dir);
  return { dir, cron: cron(env, 'CVM_BACKUP_CRON', 'off'), keep: int(env, 'CVM_BACKUP_KEEP', 7, 1, 10_000) };
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = path.resolve(str(env, 'CVM_DATA_DIR', './data'));
  const brokers = optional(env, 'KAFKA_BROKERS');
  const brokerList = brokers ? brokers.split(',').map((b) => b.trim()).filter(Boolean) : [];
  for (const b of brokerList) {
    if (!/^[^\s:]+:\d+$/.test(b)) throw new ConfigError('KAFKA_BROKERS', 'a comma-separated list of host:port', brokers ?? '');
  }
  return {
    dataDir,
    host: str(env, 'HOST', '127.0.0.1'),
    port: int(env, 'PORT', 3000, 0, 65535),
    logLevel: oneOf(env, 'CVM_LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    clickhouse: {
      url: url(env, 'CLICKHOUSE_URL'),
      user: str(env, 'CLICKHOUSE_USER', 'default'),
      password: str(env, 'CLICKHOUSE_PASSWORD', ''),
      database: str(env, 'CLICKHOUSE_DATABASE', 'default'),
      analystUser: optional(env, 'CLICKHOUSE_ANALYST_USER'),
      analystPassword: str(env, 'CLICKHOUSE_ANALYST_PASSWORD', ''),
    },
    kafka: brokerList.length
      ? {
          brokers: brokerList,
          clientId: str(env, 'KAFKA_CLIENT_ID', 'cvm'),
          // Off only for librdkafka's mock cluster, which cannot hand out producer ids.
          idempotent: bool(env, 'KAFKA_IDEMPOTENT', true),
          sessionTimeoutMs: int(env, 'KAFKA_SESSION_TIMEOUT_MS', 30_000, 1000, 600_000),
          partitions: int(env, 'KAFKA_PARTITIONS', 12, 1, 10_000),
        }
      : null,
    startup: { timeoutS: int(env, 'CVM_STARTUP_TIMEOUT_S', 120, 0, 86_400) },
    topics: topics(env),
    keys: {
      admin: optional(env, 'CVM_ADMIN_KEY'),
      adminFile: null,
      demoWrite: str(env, 'CVM_DEMO_WRITE_KEY', 'wk_demo_shop'),
      demoSite: str(env, 'CVM_DEMO_SITE', 'demo'),
      demoOrigins: str(env, 'CVM_DEMO_ORIGINS', '*').split(',').map((s) => s.trim()).filter(Boolean),
    },
    baseCurrency: currency(env, 'CVM_BASE_CURRENCY', 'USD'),
    collectorUrl: url(env, 'CVM_COLLECTOR_URL'),
    demo: bool(env, 'CVM_DEMO', true),
    demoSize: { customers: int(env, 'CVM_DEMO_CUSTOMERS', 2000, 20, 1_000_000), days: int(env, 'CVM_DEMO_DAYS', 180, 30, 3650) },
    encryptionKey: encryptionKey(env),
    encryptionKeyFile: optional(env, 'CVM_ENCRYPTION_KEY_FILE') === null ? null : path.resolve(optional(env, 'CVM_ENCRYPTION_KEY_FILE')!),
    identityKey: identityKey(env),
    identityVerification: oneOf(env, 'CVM_IDENTITY_VERIFICATION', 'required', ['required', 'provisional'] as const),
    schedules: {
      rfm: cron(env, 'CVM_SCHEDULE_RFM', '*/15 * * * *'),
      clv: cron(env, 'CVM_SCHEDULE_CLV', '5 * * * *'),
      churn: cron(env, 'CVM_SCHEDULE_CHURN', '10 * * * *'),
      recs: cron(env, 'CVM_SCHEDULE_RECS', '*/10 * * * *'),
    },
    models: {
      rfmWindowDays: int(env, 'CVM_RFM_WINDOW_DAYS', 365, 1, 3650),
      clvDiscountRate: num(env, 'CVM_CLV_DISCOUNT_RATE', 0.1, 0, 1),
      clvHorizonDays: int(env, 'CVM_CLV_HORIZON_DAYS', 365, 1, 3650),
      churnHorizonDays: int(env, 'CVM_CHURN_HORIZON_DAYS', 90, 1, 730),
    },
    log: {
      retentionHours: int(env, 'CVM_LOG_RETENTION_HOURS', 168, 1, 24 * 365),
      maxBytes: int(env, 'CVM_LOG_MAX_BYTES', 2 * 1024 ** 3, 1024 * 1024, Number.MAX_SAFE_INTEGER),
      highWaterPct: int(env, 'CVM_LOG_HIGH_WATER_PCT', 90, 10, 100),
    },
    shutdown: {
      timeoutS: int(env, 'CVM_SHUTDOWN_TIMEOUT_S', 30, 1, 3600),
    },
    collector: {
      maxBatchEvents: 500,
      maxBodyBytes: 500 * 1024,
      rateLimitPerMinute: int(env, 'CVM_RATE_LIMIT_PER_MINUTE', 6000, 1, 10_000_000),
    },
    transform: {
      batchMax: int(env, 'CVM_TRANSFORM_BATCH_MAX', 5000, 1, 1_000_000),
      flushMs: int(env, 'CVM_TRANSFORM_FLUSH_MS', 1000, 10, 60_000),
    },
    api: {
      corsOrigins: origins(env, 'CVM_API_CORS_ORIGINS'),
      rateLimitPerMinute: int(env, 'CVM_API_RATE_LIMIT_PER_MINUTE', 12_000, 1, 100_000_000),
      queryMaxRows: int(env, 'CVM_QUERY_MAX_ROWS', 100_000, 1, 100_000_000),
      queryMaxSeconds: int(env, 'CVM_QUERY_MAX_SECONDS', 30, 1, 3600),
      queryMaxMemoryBytes: int(env, 'CVM_QUERY_MAX_MEMORY_BYTES', 2 * 1024 ** 3, 16 * 1024 ** 2, Number.MAX_SAFE_INTEGER),
      queryConcurrency: int(env, 'CVM_QUERY_CONCURRENCY', 2, 1, 64),
      queryQueueSize: int(env, 'CVM_QUERY_QUEUE_SIZE', 8, 0, 10_000),
      queryQueueWaitSeconds: int(env, 'CVM_QUERY_QUEUE_WAIT_SECONDS', 10, 1, 3600),
      queryMaxThreads: int(env, 'CVM_QUERY_MAX_THREADS', 1, 1, 256),
      trustProxy: trustProxy(env),
    },
    webhooks: { allowHosts: hostList(env, 'CVM_WEBHOOK_ALLOW_HOSTS') },
    backup: backup(env, dataDir),
  };
}

/** Config for tests and tools: defaults plus overrides, never touching process.env. */
export function testConfig(overrides: Env = {}): Config {
  return loadConfig({ CVM_LOG_LEVEL: 'silent', CVM_DEMO: 'false', ...overrides });
}
