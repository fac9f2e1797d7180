// X-Forwarded-* are believed only from the proxies CVM_TRUST_PROXY names. Without it a client cannot
// pick a fresh address per request to escape the per-address limit on failed keys, nor claim to be
// the shop's own host to get a cross-site form post accepted. With it, the proxy's headers are used.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, ConfigError } from '../lib/config.ts';
import { testRuntime } from './helpers/runtime.ts';

type Rt = Awaited<ReturnType<typeof testRuntime>>;
let plain: Rt;
let proxied: Rt;

/** Bad keys, each from a different claimed client address; returns how many were answered 429. */
async function guessKeys(rt: Rt, n: number, forwardedFor: (i: number) => string): Promise<{ limited: number; retryAfter: string[] }> {
  let limited = 0;
  const retryAfter: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await rt.app!.inject({ url: '/v1/segments', headers: { authorization: `Bearer sk_analyst_guess_${i}`, 'x-forwarded-for': forwardedFor(i) } });
    expect([401, 429]).toContain(res.statusCode);
    if (res.statusCode === 429) {
      limited++;
      retryAfter.push(String(res.headers['retry-after']));
    }
  }
  return { limited, retryAfter };
}

const fresh = (i: number) => `198.51.${100 + Math.floor(i / 250)}.${i % 250}`;

describe('CVM_TRUST_PROXY', () => {
  it('is off by default and refuses true', () => {
    expect(loadConfig({}).api.trustProxy).toBe(false);
    expect(loadConfig({ CVM_TRUST_PROXY: '2' }).api.trustProxy).toBe(2);
    expect(loadConfig({ CVM_TRUST_PROXY: '10.0.0.1, 10.1.0.0/16' }).api.trustProxy).toEqual(['10.0.0.1', '10.1.0.0/16']);
    expect(() => loadConfig({ CVM_TRUST_PROXY: 'true' })).toThrow(ConfigError);
    expect(() => loadConfig({ CVM_TRUST_PROXY: 'proxy.example' })).toThrow(/CVM_TRUST_PROXY/);
  });
});

// chDB opens one data directory per process: one runtime at a time.
describe('without CVM_TRUST_PROXY', () => {
  beforeAll(async () => {
    plain = await testRuntime();
  });
  afterAll(async () => {
    await plain?.close();
  });

  it('a fake X-Forwarded-For does not reset the per-address limit on failed keys', async () => {
    // 120 failures a minute are allowed per address; a new claimed address each time must not matter.
    const { limited, retryAfter } = await guessKeys(plain, 300, fresh);
    expect(limited).toBeGreaterThan(0);
    for (const r of retryAfter) expect(Number(r)).toBeGreaterThan(0);
  });

  it('a fake X-Forwarded-Host does not make a cross-site form post same-site', async () => {
    const attack = { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' };
    const form = await plain.app!.inject({ method: 'POST', url: '/shop/logout', headers: attack, payload: '' });
    expect(form.statusCode).toBe(403);
    const json = await plain.app!.inject({ method: 'POST', url: '/shop/api/logout', headers: { origin: 'https://evil.example', 'x-forwarded-host': 'evil.example' } });
    expect(json.statusCode).toBe(403);
    // The same post from the shop's own origin is fine.
    const own = await plain.app!.inject({ method: 'POST', url: '/shop/logout', headers: { 'content-type': 'application/x-www-form-urlencoded', host: 'shop.example', origin: 'http://shop.example' }, payload: '' });
    expect(own.statusCode).toBe(303);
  });
});

describe('with CVM_TRUST_PROXY naming the proxy', () => {
  beforeAll(async () => {
    // inject() requests come from 127.0.0.1: here that is the trusted proxy.
    proxied = await testRuntime({ CVM_TRUST_PROXY: '127.0.0.1' });
  });
  afterAll(async () => {
    await proxied?.close();
  });

  it('clients are told apart by the proxy’s X-Forwarded-For', async () => {
    const spread = await guessKeys(proxied, 200, fresh);
    expect(spread.limited).toBe(0); // 200 different clients, a few failures each
    const one = await guessKeys(proxied, 300, () => '198.51.100.77');
    expect(one.limited).toBeGreaterThan(0); // one client keeps failing
  });

  it('its X-Forwarded-Host is the shop’s host', async () => {
    const viaProxy = await proxied.app!.inject({ method: 'POST', url: '/shop/logout', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://shop.example', 'x-forwarded-host': 'shop.example', 'x-forwarded-proto': 'https' }, payload: '' });
    expect(viaProxy.statusCode).toBe(303);
    const crossSite = await proxied.app!.inject({ method: 'POST', url: '/shop/logout', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example', 'x-forwarded-host': 'shop.example' }, payload: '' });
    expect(crossSite.statusCode).toBe(403);
  });
});
