// PII at rest: AES-256-GCM with a random 96-bit IV per value (equal emails encrypt differently, so the
// ciphertext says nothing about who shares an address), stored as `enc:v1:<base64url(iv | tag | ciphertext)>`.
// The plaintext is the JSON of the value, so a structured address comes back as the object it was.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, type Config } from './config.ts';

export const ENC_PREFIX = 'enc:v1:';

/** Trait fields that identify a person; encrypted by the transformer, masked for analysts. */
export const PII_FIELDS = ['email', 'phone', 'name', 'first_name', 'last_name', 'address'] as const;
const PII = new Set<string>(PII_FIELDS);

export function isPiiField(field: string): boolean {
  return PII.has(field);
}

export function isEncrypted(v: unknown): v is string {
  return typeof v === 'string' && v.startsWith(ENC_PREFIX);
}

export class DecryptError extends Error {}

/** AES-256-GCM with a random 96-bit IV: iv | tag | ciphertext. */
export function aesSeal(key: Buffer, plain: Buffer): Buffer {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ct]);
}

/** Opens aesSeal's output; throws DecryptError on a wrong key or any tampering. */
export function aesOpen(key: Buffer, sealed: Buffer): Buffer {
  if (sealed.length < 28) throw new DecryptError('encrypted value is truncated');
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(12, 28));
    return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
  } catch {
    throw new DecryptError('encrypted value does not open with this key');
  }
}

/**
 * Values encrypted with the first key; opened with any of them (newest first), so values written under a
 * key that was replaced keep opening while a keyring still lists it.
 */
export class PiiCipher {
  private readonly keys: Buffer[];

  constructor(key: Buffer | Buffer[]) {
    this.keys = Array.isArray(key) ? key : [key];
    if (!this.keys.length || this.keys.some((k) => k.length !== 32)) throw new Error('PiiCipher needs 32-byte keys');
  }

  encrypt(value: unknown): string {
    return ENC_PREFIX + aesSeal(this.keys[0]!, Buffer.from(JSON.stringify(value), 'utf8')).toString('base64url');
  }

  /** Throws DecryptError when the value was made with another key or was tampered with. */
  decrypt(text: string): unknown {
    if (!isEncrypted(text)) return text;
    const raw = Buffer.from(text.slice(ENC_PREFIX.length), 'base64url');
    if (raw.length < 28) throw new DecryptError('encrypted value is truncated');
    for (const key of this.keys) {
      try {
        return JSON.parse(aesOpen(key, raw).toString('utf8'));
      } catch {
        /* the next key */
      }
    }
    throw new DecryptError('encrypted value does not open with the configured CVM_ENCRYPTION_KEY');
  }

  /** A string field at rest: encrypted unless empty (or already encrypted). */
  seal(text: string): string {
    return text === '' || isEncrypted(text) ? text : this.encrypt(text);
  }

  /** The opposite of seal(); plain text written before encryption comes back as it is. */
  open(text: string): string {
    const v = this.decrypt(text);
    return typeof v === 'string' ? v : JSON.stringify(v);
  }

  /** The transformer's protectTraits hook: PII fields encrypted, everything else untouched. */
  protectTraits = (traits: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(traits)) out[k] = PII.has(k) && v !== null && v !== undefined && v !== '' && !isEncrypted(v) ? this.encrypt(v) : v;
    return out;
  };

  /** Every encrypted value opened; values that do not open become null and are listed. */
  revealTraits(traits: Record<string, unknown>): { traits: Record<string, unknown>; unreadable: string[] } {
    const out: Record<string, unknown> = {};
    const unreadable: string[] = [];
    for (const [k, v] of Object.entries(traits)) {
      if (!isEncrypted(v)) {
        out[k] = v;
        continue;
      }
      try {
        out[k] = this.decrypt(v);
      } catch {
        out[k] = null;
        unreadable.push(k);
      }
    }
    return { traits: out, unreadable };
  }
}

/** Analyst view of a trait: enough to recognise, not to contact. */
export function maskValue(field: string, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  if (field === 'email') {
    const at = s.lastIndexOf('@');
    return at > 0 ? `${s[0]}***${s.slice(at)}` : '***';
  }
  if (field === 'phone') {
    const digits = s.replace(/\D/g, '');
    return digits.length > 4 ? `***${digits.slice(-4)}` : '***';
  }
  if (field === 'name' || field === 'first_name' || field === 'last_name') {
    return s
      .split(/\s+/)
      .filter(Boolean)
      .map((w) => `${[...w][0] ?? ''}***`)
      .join(' ');
  }
  return '***';
}

export function maskTraits(traits: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(traits)) out[k] = PII.has(k) ? maskValue(k, v) : v;
  return out;
}

export function decodeKey(text: string): Buffer {
  const t = text.trim();
  return /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
}

/**
 * The PII key: CVM_ENCRYPTION_KEY; on the embedded engine without one, a key generated once into the data
 * directory (like admin.key) so `cvm start` works out of the box. Against a ClickHouse server the key
 * must be configured: a generated key on one host would leave the other roles unable to read profiles.
 */
export function ensureEncryptionKey(config: Config): { key: Buffer; generated: boolean; file: string | null } {
  if (config.encryptionKey) return { key: decodeKey(config.encryptionKey), generated: false, file: null };
  if (config.encryptionKeyFile) {
    // A key kept outside the data directory (a mounted secret): it must exist; cvm never invents it there.
    const file = config.encryptionKeyFile;
    let key: Buffer;
    try {
      key = decodeKey(fs.readFileSync(file, 'utf8'));
    } catch {
      throw new ConfigError('CVM_ENCRYPTION_KEY_FILE', 'a readable file holding 32 bytes as 64 hex characters (generate with: openssl rand -hex 32)', file);
    }
    if (key.length !== 32) throw new ConfigError('CVM_ENCRYPTION_KEY_FILE', 'a file holding 32 bytes as 64 hex characters or base64', file);
    return { key, generated: false, file };
  }
  if (config.clickhouse.url) {
    throw new ConfigError('CVM_ENCRYPTION_KEY', '32 bytes as 64 hex characters or base64 (required with CLICKHOUSE_URL; generate with: openssl rand -hex 32)', '');
  }
  const file = path.join(config.dataDir, 'encryption.key');
  fs.mkdirSync(config.dataDir, { recursive: true });
  if (fs.existsSync(file)) {
    const key = decodeKey(fs.readFileSync(file, 'utf8'));
    if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte key`);
    return { key, generated: false, file };
  }
  const key = crypto.randomBytes(32);
  // wx: two processes racing on a fresh data directory must not both write a key.
  try {
    fs.writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return ensureEncryptionKey(config);
    throw err;
  }
  return { key, generated: true, file };
}

export function piiCipherFor(config: Config): PiiCipher {
  return new PiiCipher(ensureEncryptionKey(config).key);
}

/** `sha256=<hex>` of HMAC-SHA256(secret, body): the X-CVM-Signature of webhook pushes. */
export function signBody(secret: string, body: string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function verifySignature(secret: string, body: string, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(secret, body));
  const got = Buffer.from(header);
  return expected.length === got.length && crypto.timingSafeEqual(expected, got);
}
