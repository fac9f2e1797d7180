// An upgraded store: PII written before data keys existed was encrypted with CVM_ENCRYPTION_KEY itself.
// It must stay readable, including after `cvm keys rotate-encryption` retires that key.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { connectClickHouse } from '../lib/clickhouse.ts';
import { testConfig } from '../lib/config.ts';
import { PiiCipher } from '../lib/crypto.ts';
import { initLogging } from '../lib/logger.ts';
import { migrate } from '../lib/migrate.ts';
import { SubjectKeys } from '../lib/subject-keys.ts';
import { tempDir } from './helpers/runtime.ts';

const EMAIL = `legacy.${crypto.randomBytes(4).toString('hex')}@pii.example`;

describe('upgraded store', () => {
  it('keeps PII written with the KEK itself (before data keys) readable across a rotation', async () => {
    const dir = tempDir('cvm-upgrade-');
    const config = testConfig({ CVM_DATA_DIR: dir });
    const ch = await connectClickHouse(config);
    const log = initLogging({ level: 'silent' });
    try {
      await migrate(ch, log);
      const kek = crypto.randomBytes(32);
      const legacy = new PiiCipher(kek).encrypt(EMAIL);
      await ch.insert('shop_members', [{ customer_id: 'cus_legacy', email: legacy, name: '', password_hash: '', locale: '', currency: '', created_at: '2026-01-01 00:00:00.000' }]);
      const keys = await SubjectKeys.open(ch, kek);
      expect(keys.piiCipher().decrypt(legacy)).toBe(EMAIL);
      const next = crypto.randomBytes(32);
      await keys.rewrap(next);
      // Only the new KEK now: the PII data key (the old KEK's bytes, wrapped) still opens the legacy value.
      expect((await SubjectKeys.open(ch, next)).piiCipher().decrypt(legacy)).toBe(EMAIL);
      await expect(SubjectKeys.open(ch, kek)).rejects.toThrow(/do not open/);
    } finally {
      await ch.close();
    }
  });
});
