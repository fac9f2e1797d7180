// A whole cvm process for tests: temporary data directory, embedded engine and log, no listening socket.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testConfig } from '../../lib/config.ts';
import { initLogging } from '../../lib/logger.ts';
import { startRuntime, type Roles, type Runtime } from '../../bin/runtime.ts';

export const ADMIN = 'sk_admin_test_key_000000000000';
export const WRITE = 'wk_test_site';

export function tempDir(prefix = 'cvm-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function testRuntime(env: Record<string, string> = {}, roles: Roles = { collector: true, transformer: true, scheduler: false, api: true }): Promise<Runtime & { dir: string }> {
  const dir = env.CVM_DATA_DIR ?? tempDir();
  const config = testConfig({ CVM_DATA_DIR: dir, CVM_ADMIN_KEY: ADMIN, CVM_DEMO_WRITE_KEY: WRITE, CVM_TRANSFORM_FLUSH_MS: '50', ...env });
  const log = initLogging({ level: 'silent' });
  const rt = await startRuntime(config, log, roles, { listen: false });
  return Object.assign(rt, { dir });
}
