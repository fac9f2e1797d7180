// `cvm keys rotate-encryption`: a new key-encryption key (CVM_ENCRYPTION_KEY). Every data key (per-subject
// event-log keys, the PII column key, the pseudonym secret) is re-wrapped under it and the rows wrapped
// under the old one are deleted and their parts cleared, so the old key stops being needed: data encrypted
// with the data keys (log records, traits, members, dead letters) is not rewritten. Runs on a stopped
// store (embedded), or with the roles stopped (ClickHouse server), since running processes hold the old key.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { UserError, type CliContext } from '../../lib/cli-context.ts';
import { openStore } from '../runtime.ts';
import { refuseIfHeld } from '../store-guard.ts';
import { decodeKey, ensureEncryptionKey } from '../../lib/crypto.ts';
import { SubjectKeys } from '../../lib/subject-keys.ts';
import { CLI_ACTOR, recordAudit } from '../../lib/audit.ts';

/** Replaces a key file atomically (write beside it, fsync, rename), mode 0600. */
function replaceKeyFile(file: string, key: Buffer): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, key.toString('hex') + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export async function rotateEncryptionKey(ctx: CliContext, newKey: Buffer = crypto.randomBytes(32)): Promise<{ rewrapped: number; file: string | null }> {
  const current = ensureEncryptionKey(ctx.config);
  if (current.key.equals(newKey)) throw new UserError('--new-key is the key in use now');
  const ch = await openStore(ctx.config, ctx.log);
  try {
    const keys = await SubjectKeys.open(ch, current.key);
    const rewrapped = await keys.rewrap(newKey, {
      beforeRemovingOld: async () => {
        if (current.file) replaceKeyFile(current.file, newKey);
      },
    });
    await recordAudit(ch, CLI_ACTOR, 'encryption_key_rotate', current.file ?? 'CVM_ENCRYPTION_KEY', { data_keys: rewrapped });
    return { rewrapped, file: current.file };
  } finally {
    await ch.close();
  }
}

export const rotateEncryption = {
  async run(argv: string[], ctx: CliContext): Promise<number> {
    const { values } = parseArgs({ args: argv, options: { 'new-key': { type: 'string' }, json: { type: 'boolean', default: false } } });
    refuseIfHeld(ctx.config, 'keys rotate-encryption');
    let newKey: Buffer | undefined;
    if (values['new-key'] !== undefined) {
      newKey = decodeKey(values['new-key']);
      if (newKey.length !== 32) throw new UserError('--new-key: expected 32 bytes as 64 hex characters or base64 (openssl rand -hex 32)');
    }
    newKey ??= crypto.randomBytes(32);
    const { rewrapped, file } = await rotateEncryptionKey(ctx, newKey);
    // A key from CVM_ENCRYPTION_KEY cannot be rewritten by cvm: the operator gets the new one (unless they chose it).
    const show = file === null && values['new-key'] === undefined ? { key: newKey.toString('hex') } : {};
    if (values.json) ctx.out(JSON.stringify({ rewrapped, file, ...show }));
    else {
      ctx.out(`re-wrapped ${rewrapped} data keys under the new key-encryption key.`);
      if (file) ctx.out(`The new key is in ${file}; the old key is no longer needed anywhere.`);
      else {
        if (show.key) ctx.out(`new key: ${show.key}`);
        ctx.out('Set CVM_ENCRYPTION_KEY to the new key before starting cvm again; the old key is no longer needed.');
      }
    }
    return 0;
  },
};
