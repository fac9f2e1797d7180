// A whole cvm process for tests: temporary data directory, embedded engine and log, no listening socket.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testConfig } from '../../lib/config.ts';
import { initLogging } from '../../lib/logger.ts';
import { startRuntime, type Roles, type Runtime } from '../../bin/runtime.ts';
import { fixedClock, type Clock } from '../../lib/clock.ts';

/** The instant the fixture-based tests live at: a seed then always gives the same shop, at any wall-clock hour. */
export const FIXTURE_NOW = Date.parse('2026-06-15T12:00:00Z');
export const fixtureClock: Clock = fixedClock(FIXTURE_NOW);

export const ADMIN = 'sk_admin_test_key_000000000000';
export const WRITE = 'wk_test_site';

export function tempDir(prefix = 'cvm-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** `clock`: the fixture's fixed instant by default; pass `systemClock` where the test runs in real time (a browser journey). */
export async function testRuntime(
  env: Record<string, string> = {},
  roles: Roles = { collector: true, transformer: true, scheduler: false, api: true },
  clock: Clock = fixtureClock,
): Promise<Runtime & { dir: string }> {
  const dir = env.CVM_DATA_DIR ?? tempDir();
  const config = testConfig({ CVM_DATA_DIR: dir, CVM_ADMIN_KEY: ADMIN, CVM_DEMO_WRITE_KEY: WRITE, CVM_TRANSFORM_FLUSH_MS: '50', ...env });
  const log = initLogging({ level: 'silent' });
  const rt = await startRuntime(config, log, roles, { listen: false, clock });
  return Object.assign(rt, { dir });
}
