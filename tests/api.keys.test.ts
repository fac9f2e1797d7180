// API keys: created once and shown once, stored as hashes, revocable; write keys from the table feed the
// collector (site and origins), secret keys the API; the CLI works on a stopped store and points at
// the admin API while cvm runs; every API route declares its role.
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForDrain } from '../bin/runtime.ts';
import { ApiKeyStore } from '../api/keys.ts';
import { ADMIN, WRITE, tempDir, testRuntime } from './helpers/runtime.ts';
import { event } from './helpers/events.ts';
import { holdStore } from './helpers/hold-store.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let rt: Awaited<ReturnType<typeof testRuntime>>;
const admin = { authorization: `Bearer ${ADMIN}` };

beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt?.close();
});

async function createKey(payload: Record<string, unknown>, headers: Record<string, string> = admin) {
  return rt.app!.inject({ method: 'POST', url: '/v1/admin/keys', headers, payload });
}

describe('secret keys', () => {
  it('creates a key shown once, stores only its SHA-256, lists it without secrets, and revokes it', async () => {
    const res = await createKey({ role: 'analyst', name: 'BI team' });
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json();
    expect(created.key).toMatch(/^sk_analyst_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ role: 'analyst', name: 'BI team', prefix: created.key.slice(0, 15) });

    const stored = await rt.deps.ch.rows<Record<string, unknown>>('SELECT * FROM api_keys WHERE key_id = {id:String}', { id: created.key_id });
    expect(JSON.stringify(stored)).not.toContain(created.key);
    expect(stored[0]!.hash).toBe(crypto.createHash('sha256').update(created.key).digest('hex'));

    const listed = await rt.app!.inject({ method: 'GET', url: '/v1/admin/keys', headers: admin });
    expect(listed.body).not.toContain(created.key);
    expect(listed.body).not.toContain(String(stored[0]!.hash));
    expect(listed.json().keys.find((k: { key_id: string }) => k.key_id === created.key_id)).toMatchObject({ role: 'analyst', name: 'BI team' });

    const auth = { authorization: `Bearer ${created.key}` };
    expect((await rt.app!.inject({ method: 'GET', url: '/v1/segments', headers: auth })).statusCode).toBe(200);
    expect((await rt.app!.inject({ method: 'GET', url: '/v1/segments', headers: { 'x-cvm-key': created.key } })).statusCode).toBe(200);
    expect((await rt.app!.inject({ method: 'GET', url: '/v1/admin/keys', headers: auth })).statusCode).toBe(403);

    expect((await rt.app!.inject({ method: 'DELETE', url: `/v1/admin/keys/${created.key_id}`, headers: admin })).statusCode).toBe(204);
    expect((await rt.app!.inject({ method: 'GET', url: '/v1/segments', headers: auth })).statusCode).toBe(401);
    expect((await rt.app!.inject({ method: 'DELETE', url: `/v1/admin/keys/${created.key_id}`, headers: admin })).statusCode).toBe(404);
    const actions = await rt.deps.ch.rows<{ action: string; detail: string }>('SELECT action, detail FROM audit_log WHERE target = {id:String} ORDER BY at', { id: created.key_id });
    expect(actions.map((a) => a.action)).toEqual(['key_create', 'key_revoke']);
    expect(JSON.stringify(actions)).not.toContain(created.key);
  });

  it('lets another process see new and revoked keys after a reload', async () => {
    const other = ApiKeyStore.forConfig(rt.deps.ch, rt.deps.config, rt.deps.log);
    await other.reload();
    const { key_id, key } = (await createKey({ role: 'storefront' })).json();
    expect(other.secretKeys.resolve(key)).toBeNull();
    await other.reload();
    expect(other.secretKeys.resolve(key)).toEqual({ keyId: key_id, role: 'storefront' });
    await rt.app!.inject({ method: 'DELETE', url: `/v1/admin/keys/${key_id}`, headers: admin });
    await other.reload();
    expect(other.secretKeys.resolve(key)).toBeNull();
  });

  it('refuses bad key requests with the field at fault', async () => {
    expect((await createKey({ role: 'root' })).statusCode).toBe(400);
    const site = await createKey({ role: 'write' });
    expect(site.statusCode).toBe(400);
    expect(site.json().field).toBe('site');
    const origin = await createKey({ role: 'write', site: 'shop2', origins: ['https://shop2.example/path'] });
    expect(origin.json().field).toBe('origins');
    expect((await createKey({ role: 'analyst', site: 'x' })).json().field).toBe('site');
  });
});

describe('write keys', () => {
  it('sends events for the key\'s site from allowed origins only; cannot call the API; secret keys cannot send events', async () => {
    const created = (await createKey({ role: 'write', site: 'shop2', origins: ['https://shop2.example'] })).json();
    expect(created.key).toMatch(/^wk_/);
    const ev = event('page_view', { anonymous_id: 'anon-shop2' });
    const ok = await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': created.key, origin: 'https://shop2.example' }, payload: { batch: [ev] } });
    expect(ok.statusCode, ok.body).toBe(200);
    const wrongOrigin = await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': created.key, origin: 'https://evil.example' }, payload: { batch: [event('page_view', { anonymous_id: 'x' })] } });
    expect(wrongOrigin.statusCode).toBe(403);
    // The demo key from the configuration still works.
    expect((await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE }, payload: { batch: [event('page_view', { anonymous_id: 'anon-demo' })] } })).statusCode).toBe(200);
    await waitForDrain(rt, 30_000);
    const [row] = await rt.deps.ch.rows<{ site: string }>('SELECT site FROM events WHERE event_id = {id:UUID}', { id: ev.event_id });
    expect(row!.site).toBe('shop2');

    expect((await rt.app!.inject({ method: 'GET', url: '/v1/segments', headers: { authorization: `Bearer ${created.key}` } })).statusCode).toBe(401);
    const secret = (await createKey({ role: 'admin' })).json().key;
    expect((await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': secret }, payload: { batch: [ev] } })).statusCode).toBe(401);

    await rt.app!.inject({ method: 'DELETE', url: `/v1/admin/keys/${created.key_id}`, headers: admin });
    expect((await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': created.key, origin: 'https://shop2.example' }, payload: { batch: [ev] } })).statusCode).toBe(401);
  });
});

describe('every API route declares its role', () => {
  // Public by design: the collector (write keys, checked in the handler), the tracker script, health, docs.
  const PUBLIC = new Set(['POST /v1/batch', 'POST /v1/track', 'POST /v1/identify', 'OPTIONS /v1/*']);

  it('has a role guard on every /v1 route except the collector\'s public ones', () => {
    const routes = rt.app!.cvmRoutes.routes;
    expect(routes.length).toBeGreaterThan(20);
    const missing = routes
      .filter((r) => r.url.startsWith('/v1') && r.roles === null && !(r.origin === 'collector' && PUBLIC.has(`${r.method} ${r.url}`)))
      .map((r) => `${r.method} ${r.url} (${r.origin})`);
    expect(missing).toEqual([]);
    for (const r of routes.filter((x) => x.roles)) expect(r.roles).toContain('admin');
    expect(routes.find((r) => r.method === 'GET' && r.url === '/metrics')?.roles).toEqual(['analyst', 'admin']);
  });
});

describe('cvm keys (CLI)', () => {
  const cvm = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, [path.join(root, 'bin', 'cvm.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, CVM_LOG_LEVEL: 'error', ...env }, timeout: 120_000 });

  it('creates a key on a stopped store that the server then accepts, and refuses while a cvm holds the store', async () => {
    const dir = tempDir('cvm-keys-cli-');
    const made = cvm(['keys', 'create', '--role', 'analyst', '--name', 'from cli'], { CVM_DATA_DIR: dir });
    expect(made.status, made.stderr).toBe(0);
    const key = /key: (sk_analyst_\S+)/.exec(made.stdout)?.[1];
    expect(key).toBeDefined();
    expect(made.stderr).not.toContain(key!);

    const listed = cvm(['keys', 'list'], { CVM_DATA_DIR: dir });
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).not.toContain(key!);
    expect(JSON.parse(listed.stdout).keys[0]).toMatchObject({ role: 'analyst', name: 'from cli', created_by: 'cli' });

    // A live process (this test) holds the store: the CLI names the admin API call instead.
    const release = await holdStore(dir);
    const held = cvm(['keys', 'create', '--role', 'storefront'], { CVM_DATA_DIR: dir, PORT: '4123' });
    expect(held.status).toBe(1);
    expect(held.stderr).toMatch(/holds the embedded store/);
    expect(held.stderr).toContain('http://localhost:4123/v1/admin/keys');
    await release();

    // chDB binds one data directory per process: the server runs as a child, like in production.
    const net = await import('node:net');
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [path.join(root, 'bin', 'cvm.mjs'), 'start'], {
      env: { ...process.env, CVM_DATA_DIR: dir, PORT: String(port), CVM_DEMO: 'false', CVM_LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d) => {
          out += String(d);
          if (out.includes('cvm is running')) resolve();
        });
        child.on('exit', (code) => reject(new Error(`cvm start exited with ${code}`)));
      });
      const ok = await fetch(`http://127.0.0.1:${port}/v1/segments`, { headers: { authorization: `Bearer ${key}` } });
      expect(ok.status).toBe(200);
      const bad = await fetch(`http://127.0.0.1:${port}/v1/segments`, { headers: { authorization: `Bearer ${key}x` } });
      expect(bad.status).toBe(401);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }, 120_000);
});
