// The PII cipher and the per-subject keys under it, opened once per process before any role starts.
import type { ClickHouse } from './clickhouse.ts';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import type { CoreServices } from './app-deps.ts';
import { ensureEncryptionKey, piiCipherFor } from './crypto.ts';
import { SubjectKeys } from './subject-keys.ts';

export async function openPiiServices(ch: ClickHouse, config: Config, log: Logger): Promise<CoreServices> {
  // PII columns are encrypted with a data key wrapped by CVM_ENCRYPTION_KEY (so the key can be rotated).
  const subjectKeys = await SubjectKeys.open(ch, ensureEncryptionKey(config).key).catch((err: unknown) => {
    log.warn({ err }, 'subject keys unavailable (store not migrated?); PII encrypted with CVM_ENCRYPTION_KEY directly');
    return null;
  });
  return { pii: subjectKeys?.piiCipher() ?? piiCipherFor(config), subjectKeys };
}
