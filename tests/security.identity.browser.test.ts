// Identity verification in a real browser (headless Chromium, the bundled shop, cvm.js): the sign-up
// journey keeps the member's name and e-mail in the 360 although the page identifies the member again
// with no traits, the page's identify is signed by the shop and links the browser, and an identify forged
// from the page's console (no signature, or a made-up one) links nothing and changes no profile.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, tempDir } from './helpers/runtime.ts';
import { hasChromium, launchChromium } from './helpers/browser.ts';
import { startRuntime, waitForDrain, type Runtime } from '../bin/runtime.ts';
import { testConfig } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';
import { loadCatalogue } from '../storefront/demo/load.ts';

const admin = { authorization: `Bearer ${ADMIN}` };
type Cvm = { identify(id: string, traits?: Record<string, unknown> | null, opts?: { signature?: string }): void; flush(): Promise<void> };

describe.skipIf(!hasChromium)('identity verification in headless Chromium', () => {
  let rt: Runtime;
  let url: string;
  let browser: Browser;
  let page: Page;
  const email = `mei.${Date.now()}@example.com`;
  let customerId = '';

  const c360 = async (id: string) => {
    const res = await fetch(`${url}/v1/customers/${encodeURIComponent(id)}`, { headers: admin });
    expect(res.status).toBe(200);
    return (await res.json()) as { profile: { traits: Record<string, unknown> } | null; identities: Array<{ anonymous_id: string }> };
  };
  const flushed = async () => {
    await page.evaluate(() => (window as unknown as { cvm: Cvm }).cvm.flush());
    expect(await waitForDrain(rt, 60_000)).toBe(true);
  };

  beforeAll(async () => {
    const config = testConfig({ CVM_DATA_DIR: tempDir(), CVM_ADMIN_KEY: ADMIN, PORT: '0', CVM_TRANSFORM_FLUSH_MS: '100', CVM_RATE_LIMIT_PER_MINUTE: '1000000', CVM_API_RATE_LIMIT_PER_MINUTE: '1000000' });
    rt = await startRuntime(config, initLogging({ level: 'silent' }), { collector: true, transformer: true, scheduler: false, api: true }, { listen: true });
    url = rt.url!;
    await loadCatalogue(rt.deps.ch);
    browser = await launchChromium();
    const ctx = await browser.newContext({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36' });
    page = await ctx.newPage();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await rt?.close();
  });

  it('signs up: the 360 keeps name and e-mail, and the page identify (signed) links the browser', async () => {
    await page.goto(`${url}/shop`);
    await page.goto(`${url}/shop/signup`);
    await page.fill('#name', 'Mei Chen');
    await page.fill('#email', email);
    await page.fill('#password', 'a long enough password');
    await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/shop/signup')), page.click('#submit')]);
    customerId = (await page.getAttribute('body', 'data-shop-customer'))!;
    expect(customerId).toMatch(/^cus_/);
    expect(await page.getAttribute('body', 'data-shop-customer-sig')).toMatch(/^[0-9a-f]{64}$/);
    // The page's own identify (no traits) goes out after the shop's server-side one.
    await page.waitForFunction(() => localStorage.getItem('cvm_cid') !== null);
    await flushed();
    const anon = await page.evaluate(() => localStorage.getItem('cvm_aid'));

    const identifies = await rt.deps.ch.rows<{ props: string }>("SELECT props FROM events WHERE type = 'identify' AND customer_id = {c:String}", { c: customerId });
    expect(identifies.length).toBe(2); // the shop's back end, then the page
    expect(identifies.filter((r) => r.props.includes('unverified'))).toEqual([]);
    const c = await c360(customerId);
    expect(c.profile?.traits).toMatchObject({ name: 'Mei Chen', email });
    expect(c.identities.map((i) => i.anonymous_id)).toContain(anon);
  });

  it('an identify forged from the page console changes nothing', async () => {
    // Another visitor in a fresh browser context tries to take the new member over.
    const other = await (await browser.newContext()).newPage();
    await other.goto(`${url}/shop`);
    const attackerAnon = await other.evaluate(() => localStorage.getItem('cvm_aid'));
    await other.evaluate(
      async ([id]) => {
        const cvm = (window as unknown as { cvm: Cvm }).cvm;
        cvm.identify(id!, { email: 'attacker@evil.example', name: 'Mallory', consent: false });
        cvm.identify(id!, { email: 'attacker@evil.example' }, { signature: 'ab'.repeat(32) });
        await cvm.flush();
      },
      [customerId],
    );
    expect(await waitForDrain(rt, 60_000)).toBe(true);
    const forged = await rt.deps.ch.rows("SELECT event_id FROM events WHERE type = 'identify' AND customer_id = {c:String} AND anonymous_id = {a:String}", { c: customerId, a: attackerAnon });
    expect(forged.length).toBe(2); // stored as events
    const c = await c360(customerId);
    expect(c.profile?.traits).toMatchObject({ name: 'Mei Chen', email });
    expect(JSON.stringify(c.profile)).not.toContain('evil.example');
    expect(c.identities.map((i) => i.anonymous_id)).not.toContain(attackerAnon);
    const [optedOut] = await rt.deps.ch.rows<{ n: string }>('SELECT count() AS n FROM customers_opted_out WHERE customer_id = {c:String}', { c: customerId });
    expect(Number(optedOut!.n)).toBe(0);
  });
});
