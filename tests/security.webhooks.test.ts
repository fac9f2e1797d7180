// SSRF through segment webhooks: every internal address form is refused when the webhook is saved and
// again at every push (a real local receiver proves nothing reaches it), the connection goes to the
// address that was checked (no DNS rebinding), redirects are not followed, and an operator's allow-list
// still lets a private host through.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nonPublicRange, resolveTarget, webhookPolicy, WebhookTargetError, type LookupFn } from '../api/segments/webhook-target.ts';
import { deliver } from '../api/segments/webhooks.ts';
import { chTime } from '../lib/clickhouse.ts';
import { initLogging } from '../lib/logger.ts';
import { seededShop, type Shop } from './api.fixture.ts';

const log = initLogging({ level: 'silent' }).child({ name: 'test' });

// A real receiver on loopback: the thing an attacker would like cvm to talk to.
let receiver: http.Server;
let port: number;
const hits: string[] = [];
beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    req.resume();
    if (req.url?.startsWith('/redirect')) {
      res.writeHead(302, { location: `http://127.0.0.1:${port}/redirected` }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  port = (receiver.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => receiver.close(r));
});

/** DNS for the tests: names map to the given addresses; everything else goes to the system resolver. */
function fakeDns(names: Record<string, string[]>, fallback: LookupFn = webhookPolicy().lookup): LookupFn {
  return async (host) => {
    const list = names[host];
    if (!list) return fallback(host);
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

const HOSTILE = [
  'http://127.0.0.1:8123/',
  'http://127.0.0.1:6379/',
  'http://[::1]:6379/',
  'http://localhost:8123/',
  'http://LOCALHOST./x',
  'http://0x7f000001/',
  'http://2130706433/',
  'http://0177.0.0.1/',
  'http://127.1/',
  'http://0x7f.1/',
  'http://%31%32%37.0.0.1/',
  'http://[::ffff:127.0.0.1]/',
  'http://[::ffff:7f00:1]/',
  'http://[0:0:0:0:0:0:0:1]/',
  'http://[::]/',
  'http://0.0.0.0/',
  'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
  'http://[fd00:ec2::254]/latest/meta-data/',
  'http://100.100.100.200/latest/meta-data/',
  'http://192.0.0.192/opc/v2/instance/',
  'http://10.0.0.1/',
  'http://172.16.5.4/',
  'http://192.168.1.1/',
  'http://[fe80::1]/',
  'http://[fc00::1]/',
  'http://[64:ff9b::7f00:1]/',
  'http://[2002:7f00:1::]/',
  'http://224.0.0.1/',
  'http://255.255.255.255/',
  'https://127.0.0.1/',
  'http://internal.corp.test/',
  'http://mixed.test/',
  'http://metadata.test/computeMetadata/v1/',
];

const NOT_HTTP = ['file:///etc/passwd', 'gopher://127.0.0.1:6379/_INFO', 'ftp://example.com/', 'dict://127.0.0.1:11211/', 'javascript:alert(1)', 'hooks.example.com/no-scheme', 'http://user:pw@hooks.example.com/'];

const DNS = fakeDns({
  'hooks.example.com': ['93.184.215.14'],
  'internal.corp.test': ['10.20.30.40'],
  'metadata.test': ['169.254.169.254'],
  // One public and one loopback address: refused, whichever a connection would pick.
  'mixed.test': ['93.184.215.14', '127.0.0.1'],
  'v6.example.com': ['2606:4700::1111'],
});

describe('address classification (ipaddr.js)', () => {
  it('calls every odd notation of loopback loopback', () => {
    for (const a of ['127.0.0.1', '0x7f000001', '2130706433', '0177.0.0.1', '::1', '[::1]', '::ffff:127.0.0.1', '[::ffff:127.0.0.1]', '::ffff:7f00:1']) expect(nonPublicRange(a), a).toBe('loopback');
  });
  it('refuses private, link-local, metadata and special ranges; passes public unicast', () => {
    expect(nonPublicRange('169.254.169.254')).toBe('linkLocal');
    expect(nonPublicRange('fd00:ec2::254')).toBe('uniqueLocal');
    expect(nonPublicRange('100.100.100.200')).toBe('carrierGradeNat');
    for (const a of ['10.1.1.1', '172.31.0.1', '192.168.0.1', '0.0.0.0', '::', 'fe80::1', '64:ff9b::a00:1', '2002:a00:1::', '2001::1', '198.18.0.1', '240.0.0.1', 'not-an-ip']) expect(nonPublicRange(a), a).not.toBeNull();
    for (const a of ['93.184.215.14', '8.8.8.8', '2606:4700::1111']) expect(nonPublicRange(a), a).toBeNull();
  });
});

describe('resolveTarget', () => {
  const policy = webhookPolicy([], DNS);

  it('refuses every internal address form, naming the reason', async () => {
    for (const url of HOSTILE) {
      const err = await resolveTarget(url, policy).then(() => null, (e: unknown) => e);
      expect(err, url).toBeInstanceOf(WebhookTargetError);
      expect((err as Error).message, url).toMatch(/public address/);
    }
  });

  it('refuses what is not http(s), and credentials in the URL', async () => {
    for (const url of NOT_HTTP) await expect(resolveTarget(url, policy), url).rejects.toBeInstanceOf(WebhookTargetError);
    await expect(resolveTarget('http://no-such-host.invalid/', policy)).rejects.toThrow(/does not resolve/);
  });

  it('accepts public hosts and pins the address it checked', async () => {
    expect(await resolveTarget('https://hooks.example.com/h?t=1', policy)).toMatchObject({ address: '93.184.215.14', family: 4, allowListed: false });
    expect(await resolveTarget('https://v6.example.com/h', policy)).toMatchObject({ address: '2606:4700::1111', family: 6 });
    expect(await resolveTarget('http://93.184.215.14:8080/', policy)).toMatchObject({ address: '93.184.215.14' });
  });

  it('lets an operator allow-list a private host by name or address', async () => {
    const allowing = webhookPolicy(['internal.corp.test', '127.0.0.1'], DNS);
    expect(await resolveTarget('http://internal.corp.test/x', allowing)).toMatchObject({ address: '10.20.30.40', allowListed: true });
    expect(await resolveTarget('http://127.0.0.1:9/x', allowing)).toMatchObject({ address: '127.0.0.1', allowListed: true });
    // Only the listed host: another name or address for the same machine is still refused.
    await expect(resolveTarget('http://0x7f000001/x', webhookPolicy(['localhost'], DNS))).rejects.toBeInstanceOf(WebhookTargetError);
    await expect(resolveTarget('http://[::1]/x', allowing)).rejects.toBeInstanceOf(WebhookTargetError);
    await expect(resolveTarget('http://0x7f000001/x', allowing)).resolves.toMatchObject({ address: '127.0.0.1' }); // URL spells it 127.0.0.1
  });
});

describe('deliver', () => {
  it('never connects to a refused target', async () => {
    const before = hits.length;
    for (const url of [`http://127.0.0.1:${port}/a`, `http://localhost:${port}/b`, `http://[::ffff:127.0.0.1]:${port}/c`, `http://2130706433:${port}/d`]) {
      const r = await deliver(url, 'whsec_x', { a: 1 }, log, { retryDelaysMs: [], timeoutMs: 5_000 }, webhookPolicy([], DNS));
      expect(r, url).toMatchObject({ ok: false, refused: true, attempts: 0 });
    }
    expect(hits.length).toBe(before);
  });

  it('connects to the address it resolved, whatever the name resolves to later', async () => {
    // receiver.test exists in no real DNS: reaching the receiver proves the request used the pinned address.
    let calls = 0;
    const once: LookupFn = async () => {
      calls++;
      return [{ address: calls === 1 ? '127.0.0.1' : '203.0.113.9', family: 4 }];
    };
    const r = await deliver(`http://receiver.test:${port}/pinned`, 'whsec_x', { a: 1 }, log, { retryDelaysMs: [], timeoutMs: 5_000 }, webhookPolicy(['receiver.test'], once));
    expect(r).toMatchObject({ ok: true, status: 200 });
    expect(calls).toBe(1);
    expect(hits).toContain('/pinned');
  });

  it('does not follow redirects', async () => {
    const r = await deliver(`http://127.0.0.1:${port}/redirect`, 'whsec_x', { a: 1 }, log, { retryDelaysMs: [], timeoutMs: 5_000 }, webhookPolicy(['127.0.0.1']));
    expect(r).toMatchObject({ ok: false, status: 302 });
    expect(r.error).toContain('redirects are not followed');
    expect(hits).not.toContain('/redirected');
  });
});

describe('segments API and model runs', () => {
  let shop: Shop;
  let rebindTo = '93.184.215.14';
  beforeAll(async () => {
    shop = await seededShop({ customers: 20, models: false, env: { CVM_WEBHOOK_ALLOW_HOSTS: 'receiver.allowed.test' } });
    const segments = shop.rt.deps.services.segments;
    segments.webhookOptions = { retryDelaysMs: [], timeoutMs: 5_000 };
    segments.webhookPolicy.lookup = async (host) => {
      if (host === 'receiver.allowed.test') return [{ address: '127.0.0.1', family: 4 }];
      if (host === 'rebind.test') return [{ address: rebindTo, family: 4 }];
      return DNS(host);
    };
  });
  afterAll(async () => {
    await shop?.rt.close();
  });

  it('refuses every hostile webhook_url with 400 naming the field, and saves none', async () => {
    for (const url of [...HOSTILE, ...NOT_HTTP, `http://127.0.0.1:${port}/hook`, `http://localhost:${port}/hook`]) {
      const res = await shop.as('admin', { method: 'POST', url: '/v1/segments', payload: { name: 'x', rule: 'frequency >= 0', webhook_url: url } });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(400);
      expect(res.json().field, url).toBe('webhook_url');
    }
    const saved = (await shop.as('admin', { method: 'GET', url: '/v1/segments' })).json().segments.filter((s: { kind: string }) => s.kind === 'custom');
    expect(saved).toEqual([]);
    expect((await shop.as('none', { method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('a model run POSTs to the allow-listed receiver only: not to a host that re-resolved inside, nor to an old row with a loopback URL', async () => {
    const ok = await shop.as('admin', { method: 'POST', url: '/v1/segments', payload: { name: 'allowed', rule: 'frequency >= 0', webhook_url: `http://receiver.allowed.test:${port}/hook/allowed` } });
    expect(ok.statusCode, ok.body).toBe(201);
    const rebind = await shop.as('admin', { method: 'POST', url: '/v1/segments', payload: { name: 'rebind', rule: 'frequency >= 0', webhook_url: `http://rebind.test:${port}/hook/rebind` } });
    expect(rebind.statusCode, rebind.body).toBe(201); // public when saved…
    rebindTo = '127.0.0.1'; // …loopback at push time

    // A row saved before webhooks were checked (or written straight to the table).
    const services = shop.rt.deps.services;
    const now = chTime(Date.now());
    await shop.rt.deps.ch.insert('segments', [{
      segment_id: 'seg_legacy', name: 'legacy', rule: 'frequency >= 0', webhook_url: `http://127.0.0.1:${port}/hook/legacy`,
      webhook_secret: services.pii.encrypt('whsec_legacy'), created_by: 'someone', created_at: now, deleted: 0, updated_at: now,
    }]);

    const before = hits.length;
    const [run] = await shop.rt.models.run('rfm');
    expect(run!.status).toBe('ok');
    await services.segments.idle();
    const during = hits.slice(before);
    expect(during).toEqual(['/hook/allowed']); // the receiver works: the other two were refused, not lost in transit
    const audit = await shop.rt.deps.ch.rows<{ target: string; action: string }>(`SELECT target, action FROM audit_log WHERE action LIKE 'webhook%' ORDER BY target`);
    expect(audit).toEqual(expect.arrayContaining([
      { target: ok.json().segment.id, action: 'webhook_push' },
      { target: rebind.json().segment.id, action: 'webhook_refused' },
      { target: 'seg_legacy', action: 'webhook_refused' },
    ]));
  });
});
