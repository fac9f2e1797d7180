// API keys kept in the api_keys table and resolved from memory. Secret keys (storefront, analyst, admin)
// call the API; write keys are public, belong to one site and can only send events. The table holds
// SHA-256 hashes only: a key is shown once, when it is created.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ClickHouse } from '../lib/clickhouse.ts';
import { chTime } from '../lib/clickhouse.ts';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import type { KeyResolver, Principal, Role } from './auth.ts';
import { siteAllowsOrigin, type Site, type WriteKeyResolver } from '../ingest/write-keys.ts';
import { SYSTEM_ACTOR, recordAudit } from '../lib/audit.ts';

export type KeyRole = Role | 'write';
export const KEY_ROLES: readonly KeyRole[] = ['storefront', 'analyst', 'admin', 'write'];

export interface ApiKeyInfo {
  key_id: string;
  role: KeyRole;
  name: string;
  site: string;
  origins: string[];
  /** The first characters of the key, to recognise it in a list. */
  prefix: string;
  created_by: string;
  created_at: string;
}

interface ApiKeyRow extends ApiKeyInfo {
  hash: string;
  revoked: number;
  updated_at: string;
}

export function hashKey(secret: string): string {
  return crypto.createHash('sha256').update(secret).digest('hex');
}

/** 32 random bytes: `sk_<role>_…` for secret keys, `wk_…` for write keys. */
export function generateKey(role: KeyRole): string {
  const random = crypto.randomBytes(32).toString('base64url');
  return role === 'write' ? `wk_${random}` : `sk_${role}_${random}`;
}

export interface CreateKeyInput {
  role: KeyRole;
  name?: string;
  site?: string;
  origins?: string[];
  createdBy?: string;
}

/** A new bootstrap admin key (the one in the data directory's admin.key, or CVM_ADMIN_KEY). */
export function generateAdminKey(): string {
  return `sk_admin_${crypto.randomBytes(24).toString('base64url')}`;
}

/** The bootstrap admin key kept in a file, or null when there is none (yet). */
export function readAdminKeyFile(file: string): string | null {
  try {
    const key = fs.readFileSync(file, 'utf8').trim();
    return key || null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Replaces the admin key file in one step (write aside, rename), readable by its owner only. */
export function writeAdminKeyFile(file: string, key: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, key + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function sameSecret(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

export const BOOTSTRAP_ADMIN_ID = 'bootstrap-admin';

export class KeyInputError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

export class ApiKeyStore {
  /** hash → key; only keys that are not revoked. Swapped whole on reload. */
  private byHash = new Map<string, ApiKeyInfo>();
  private timer: NodeJS.Timeout | null = null;
  /** The bootstrap admin key; re-read from its file on every reload, so `cvm keys rotate-admin` reaches a running server. */
  private bootstrapAdmin: string | null;

  readonly secretKeys: KeyResolver = {
    resolve: (secret: string): Principal | null => {
      if (this.bootstrapAdmin && sameSecret(secret, this.bootstrapAdmin)) return { keyId: BOOTSTRAP_ADMIN_ID, role: 'admin' };
      const k = this.byHash.get(hashKey(secret));
      return k && k.role !== 'write' ? { keyId: k.key_id, role: k.role } : null;
    },
  };

  readonly writeKeys: WriteKeyResolver;

  constructor(
    private readonly ch: ClickHouse,
    private readonly log: Logger,
    /** Keys from configuration (the demo shop's write key), resolved before the table's. */
    private readonly staticWrite: Array<{ key: string } & Site> = [],
    /** CVM_ADMIN_KEY or the key from `file` (then re-read on reload). */
    private readonly bootstrap: { key: string | null; file: string | null } = { key: null, file: null },
  ) {
    this.bootstrapAdmin = bootstrap.key;
    const staticByKey = new Map(staticWrite.map((s) => [s.key, { site: s.site, origins: s.origins }]));
    this.writeKeys = {
      resolve: (key: string): Site | null => {
        const fixed = staticByKey.get(key);
        if (fixed) return fixed;
        const k = this.byHash.get(hashKey(key));
        return k && k.role === 'write' ? { site: k.site, origins: k.origins } : null;
      },
      originAllowed: (origin: string): boolean => {
        for (const s of staticByKey.values()) if (siteAllowsOrigin(s, origin)) return true;
        for (const k of this.byHash.values()) if (k.role === 'write' && siteAllowsOrigin({ site: k.site, origins: k.origins }, origin)) return true;
        return false;
      },
    };
  }

  static forConfig(ch: ClickHouse, config: Config, log: Logger): ApiKeyStore {
    return new ApiKeyStore(ch, log, [{ key: config.keys.demoWrite, site: config.keys.demoSite, origins: config.keys.demoOrigins }], { key: config.keys.admin, file: config.keys.adminFile });
  }

  /** Picks up a rotated bootstrap admin key; the old one stops working at once. */
  private reloadBootstrapAdmin(): void {
    if (!this.bootstrap.file) return;
    let key: string | null;
    try {
      key = readAdminKeyFile(this.bootstrap.file);
    } catch (err) {
      this.log.warn({ err }, 'admin key file not readable; keeping the current admin key');
      return;
    }
    // A missing file is not a rotation: keep the key this process has.
    if (!key || key === this.bootstrapAdmin) return;
    this.bootstrapAdmin = key;
    this.log.warn({ file: this.bootstrap.file }, 'bootstrap admin key rotated: the previous key no longer works');
    void recordAudit(this.ch, SYSTEM_ACTOR, 'admin_key_rotate', BOOTSTRAP_ADMIN_ID).catch((err: unknown) => this.log.warn({ err }, 'audit of the admin key rotation failed'));
  }

  async reload(): Promise<void> {
    this.reloadBootstrapAdmin();
    const rows = await this.ch.rows<ApiKeyRow>(
      `SELECT key_id, role, name, site, origins, prefix, hash, created_by, created_at, revoked, updated_at
       FROM api_keys FINAL WHERE revoked = 0`,
    );
    const next = new Map<string, ApiKeyInfo>();
    for (const r of rows) next.set(r.hash, info(r));
    this.byHash = next;
  }

  /**
   * Other processes (a separate collector or API) create and revoke keys too: re-read the table now and
   * then. Within one process, create and revoke take effect at once.
   */
  startRefresh(everyMs = 30_000): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.reload().catch((err) => this.log.warn({ err }, 'api key reload failed')), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  list(): ApiKeyInfo[] {
    return [...this.byHash.values()].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.key_id.localeCompare(b.key_id));
  }

  /** Creates a key; the returned secret exists nowhere else afterwards. */
  async create(input: CreateKeyInput): Promise<{ key: ApiKeyInfo; secret: string }> {
    if (!KEY_ROLES.includes(input.role)) throw new KeyInputError('role', `role must be one of ${KEY_ROLES.join(', ')}`);
    const name = (input.name ?? '').trim();
    if (name.length > 128) throw new KeyInputError('name', 'name is longer than 128 characters');
    let site = '';
    let origins: string[] = [];
    if (input.role === 'write') {
      site = (input.site ?? '').trim();
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(site)) throw new KeyInputError('site', 'a write key needs site: letters, digits, . _ - (at most 64)');
      origins = input.origins ?? ['*'];
      for (const o of origins) {
        if (o === '*') continue;
        let ok = false;
        try {
          const u = new URL(o);
          ok = (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === o;
        } catch {
          ok = false;
        }
        if (!ok) throw new KeyInputError('origins', `origin '${o}' must look like https://shop.example.com (scheme://host[:port]) or be *`);
      }
    } else if (input.site || input.origins) {
      throw new KeyInputError('site', 'site and origins apply to write keys only');
    }
    const secret = generateKey(input.role);
    const now = chTime(Date.now());
    const row: ApiKeyRow = {
      key_id: `key_${crypto.randomBytes(8).toString('hex')}`,
      role: input.role,
      name,
      site,
      origins,
      prefix: secret.slice(0, input.role === 'write' ? 7 : input.role.length + 8),
      hash: hashKey(secret),
      created_by: input.createdBy ?? '',
      created_at: now,
      revoked: 0,
      updated_at: now,
    };
    await this.ch.insert('api_keys', [row]);
    const next = new Map(this.byHash);
    next.set(row.hash, info(row));
    this.byHash = next;
    return { key: info(row), secret };
  }

  /** Marks a key revoked; false when there is no such live key. */
  async revoke(keyId: string): Promise<boolean> {
    const [row] = await this.ch.rows<ApiKeyRow>(
      `SELECT key_id, role, name, site, origins, prefix, hash, created_by, created_at, revoked, updated_at
       FROM api_keys FINAL WHERE key_id = {id:String} AND revoked = 0`,
      { id: keyId },
    );
    if (!row) return false;
    await this.ch.insert('api_keys', [{ ...row, revoked: 1, updated_at: chTime(Math.max(Date.now(), Date.parse(row.updated_at + 'Z') + 1)) }]);
    const next = new Map(this.byHash);
    next.delete(row.hash);
    this.byHash = next;
    return true;
  }
}

function info(r: ApiKeyRow): ApiKeyInfo {
  return { key_id: r.key_id, role: r.role, name: r.name, site: r.site, origins: r.origins, prefix: r.prefix, created_by: r.created_by, created_at: r.created_at };
}
