// The bootstrap admin key: printed by `cvm start` only on the start that generated it (never when it
// came from CVM_ADMIN_KEY or from an earlier start), and `cvm keys rotate-admin` replaces it: the old
// key stops working for a running server at its next key reload, the new one works.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCvm, type CvmProcess } from './helpers/cvm-process.ts';
import { tempDir, testRuntime } from './helpers/runtime.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cvm = (args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, [path.join(root, 'bin', 'cvm.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, CVM_LOG_LEVEL: 'error', CVM_ADMIN_KEY: '', ...env }, timeout: 120_000 });

async function stop(p: CvmProcess): Promise<void> {
  p.child.kill('SIGTERM');
  await p.exited;
}

/** One `cvm start` until it is ready; returns everything it printed. */
async function startOutput(env: Record<string, string>): Promise<string> {
  const p = await startCvm({ CVM_ADMIN_KEY: '', ...env });
  try {
    // Ready once the banner is printed to its end.
    await new Promise<void>((resolve) => {
      const done = () => p.output().includes('Press Ctrl+C to stop.') && (p.child.stdout!.off('data', done), resolve());
      p.child.stdout!.on('data', done);
      done();
    });
    return p.output();
  } finally {
    await stop(p);
  }
}

describe('cvm start and the admin key', () => {
  it('prints a generated key on that start only, and never a key from CVM_ADMIN_KEY', async () => {
    const dir = tempDir('cvm-adminkey-');
    const first = await startOutput({ CVM_DATA_DIR: dir });
    const kept = fs.readFileSync(path.join(dir, 'admin.key'), 'utf8').trim();
    expect(kept).toMatch(/^sk_admin_[A-Za-z0-9_-]{32}$/);
    expect((fs.statSync(path.join(dir, 'admin.key')).mode & 0o777).toString(8)).toBe('600');
    expect(first).toContain(kept);

    const second = await startOutput({ CVM_DATA_DIR: dir });
    expect(second).not.toContain(kept);
    expect(second).toContain(path.join(dir, 'admin.key'));

    const fromEnv = 'sk_admin_from_the_environment_0123456789';
    const third = await startOutput({ CVM_DATA_DIR: tempDir('cvm-adminkey-env-'), CVM_ADMIN_KEY: fromEnv });
    expect(third).not.toContain(fromEnv);
    expect(third).toMatch(/health\s+http/); // it did start
  });
});

describe('cvm keys rotate-admin', () => {
  let rt: Awaited<ReturnType<typeof testRuntime>>;
  beforeAll(async () => {
    // No CVM_ADMIN_KEY: the runtime keeps a generated key in the data directory, like `cvm start`.
    rt = await testRuntime({ CVM_ADMIN_KEY: '' });
  });
  afterAll(async () => {
    await rt?.close();
  });

  const status = async (key: string) => (await rt.app!.inject({ url: '/v1/admin/keys', headers: { authorization: `Bearer ${key}` } })).statusCode;

  it('replaces the key: a running server drops the old one at its key reload and takes the new one', async () => {
    const file = path.join(rt.dir, 'admin.key');
    const oldKey = fs.readFileSync(file, 'utf8').trim();
    expect(await status(oldKey)).toBe(200);

    // The real command, in its own process, while this server runs on the same data directory.
    const rotated = cvm(['keys', 'rotate-admin'], { CVM_DATA_DIR: rt.dir });
    expect(rotated.status, rotated.stderr).toBe(0);
    const newKey = /new admin key: (sk_admin_\S+)/.exec(rotated.stdout)?.[1];
    expect(newKey).toBeDefined();
    expect(newKey).not.toBe(oldKey);
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(newKey);
    expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('600');

    // What the server's 30 s reload timer runs.
    await rt.deps.services.keys.reload();
    expect(await status(oldKey)).toBe(401);
    expect(await status(newKey!)).toBe(200);
    const audit = await rt.deps.ch.rows<{ action: string }>(`SELECT action FROM audit_log WHERE action = 'admin_key_rotate'`);
    expect(audit).toHaveLength(1);

    // A second rotation retires the first new key too.
    const again = cvm(['keys', 'rotate-admin', '--json'], { CVM_DATA_DIR: rt.dir });
    expect(again.status, again.stderr).toBe(0);
    const third = JSON.parse(again.stdout).key as string;
    await rt.deps.services.keys.reload();
    expect(await status(newKey!)).toBe(401);
    expect(await status(third)).toBe(200);
  });

  it('refuses when the key comes from CVM_ADMIN_KEY, naming the variable, and changes nothing', () => {
    const dir = tempDir('cvm-rotate-env-');
    const res = cvm(['keys', 'rotate-admin'], { CVM_DATA_DIR: dir, CVM_ADMIN_KEY: 'sk_admin_from_env_0000000000000000' });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('CVM_ADMIN_KEY');
    expect(fs.existsSync(path.join(dir, 'admin.key'))).toBe(false);
  });
});

describe('the command line', () => {
  it('treats Object.prototype names as unknown commands, not as commands', () => {
    for (const name of ['constructor', '__proto__', 'toString']) {
      const res = cvm([name], {});
      expect(res.stderr, name).toContain(`unknown command '${name}'`);
      expect(res.stderr, name).not.toMatch(/TypeError|is not a function/);
    }
  });
});
