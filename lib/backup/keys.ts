// Keys and settings in a backup. The data directory's key files (*.key: admin.key, identity.key,
// encryption.key) are copied, mode 0600: without the key-encryption key the data keys in subject_keys
// cannot be unwrapped, and the restored store could read nothing sealed. Keys that come from the
// environment or a file outside the data directory are the operator's secret store: they are not copied,
// only fingerprinted, and restore refuses unless the same key is configured. Settings are kept for
// reference (config.json, secrets replaced by whether they are set); restore does not apply them.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.ts';
import { decodeKey } from '../crypto.ts';

export type KeySource = 'data-dir' | 'env' | 'file' | 'none';

export interface KeyInfo { source: KeySource; fingerprint: string | null }

export interface KeyReport { encryption: KeyInfo; identity: KeyInfo; admin: KeyInfo }

export const KEYS_DIR = 'keys';
const ENCRYPTION_FILE = 'encryption.key';
const IDENTITY_FILE = 'identity.key';
const ADMIN_FILE = 'admin.key';

/** Short and one-way: enough to tell two keys apart, nothing to recover one from. */
export function fingerprint(secret: Buffer | string): string {
  return crypto.createHash('sha256').update(secret).digest('hex').slice(0, 16);
}

function readIf(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim() || null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Where each key of this configuration comes from, with its fingerprint (no file is created). */
export function keyReport(config: Config): KeyReport {
  const inDir = (name: string) => readIf(path.join(config.dataDir, name));
  const dirKey = inDir(ENCRYPTION_FILE);
  const encryption: KeyInfo = config.encryptionKey
    ? { source: 'env', fingerprint: fingerprint(decodeKey(config.encryptionKey)) }
    : config.encryptionKeyFile
      ? { source: 'file', fingerprint: fingerprintOf(readIf(config.encryptionKeyFile)) }
      : { source: dirKey ? 'data-dir' : 'none', fingerprint: dirKey ? fingerprint(decodeKey(dirKey)) : null };
  const idKey = inDir(IDENTITY_FILE);
  const identity: KeyInfo = config.identityKey
    ? { source: 'env', fingerprint: fingerprint(config.identityKey) }
    : { source: idKey ? 'data-dir' : 'none', fingerprint: idKey ? fingerprint(idKey) : null };
  const adminKey = inDir(ADMIN_FILE);
  // The bootstrap admin key when it came from CVM_ADMIN_KEY (config.keys.adminFile is null then).
  const admin: KeyInfo = config.keys.admin && !config.keys.adminFile
    ? { source: 'env', fingerprint: fingerprint(config.keys.admin) }
    : { source: adminKey ? 'data-dir' : 'none', fingerprint: adminKey ? fingerprint(adminKey) : null };
  return { encryption, identity, admin };
}

function fingerprintOf(text: string | null): string | null {
  return text ? fingerprint(decodeKey(text)) : null;
}

/** Copies the data directory's key files into the backup; answers their names. */
export function copyKeyFiles(dataDir: string, backupDir: string): string[] {
  const dest = path.join(backupDir, KEYS_DIR);
  fs.mkdirSync(dest, { recursive: true, mode: 0o700 });
  const names = fs.readdirSync(dataDir, { withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.key')).map((e) => e.name).sort();
  for (const name of names) fs.copyFileSync(path.join(dataDir, name), path.join(dest, name));
  for (const name of names) fs.chmodSync(path.join(dest, name), 0o600);
  return names;
}

export function restoreKeyFiles(backupDir: string, names: string[], dataDir: string): void {
  for (const name of names) {
    fs.copyFileSync(path.join(backupDir, KEYS_DIR, name), path.join(dataDir, name));
    fs.chmodSync(path.join(dataDir, name), 0o600);
  }
}

/**
 * Before any data is restored: the keys the restored store will use must be the backup's (keys copied
 * into the data directory already are). Answers what is wrong, for the operator, or null.
 */
export function keyMismatch(backup: KeyReport, now: KeyReport): string | null {
  const wrong: string[] = [];
  const check = (what: string, b: KeyInfo, n: KeyInfo, how: string) => {
    if (b.fingerprint && b.fingerprint !== n.fingerprint) {
      wrong.push(`${what}: the backup was made with key ${b.fingerprint} (${b.source}); ${n.fingerprint ? `this configuration has ${n.fingerprint} (${n.source})` : 'none is configured'}. ${how}`);
    }
  };
  check('encryption key', backup.encryption, now.encryption, 'Set CVM_ENCRYPTION_KEY or CVM_ENCRYPTION_KEY_FILE to the key the backup was made with: without it no data key can be unwrapped.');
  check('identity key', backup.identity, now.identity, 'Set CVM_IDENTITY_KEY as it was: shop back ends sign customer ids with secrets derived from it.');
  return wrong.length ? wrong.join('\n') : null;
}

/** The configuration for reference, secrets replaced by whether they are set. */
export function redactedConfig(config: Config): Record<string, unknown> {
  const set = (v: string | null | undefined) => (v ? '<set>' : null);
  return {
    ...config,
    clickhouse: { ...config.clickhouse, password: set(config.clickhouse.password), analystPassword: set(config.clickhouse.analystPassword) },
    keys: { ...config.keys, admin: set(config.keys.admin) },
    encryptionKey: set(config.encryptionKey),
    identityKey: set(config.identityKey),
  };
}
