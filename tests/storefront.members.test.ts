// Shop members: scrypt password hashes, sign-up and login through the pages' forms, the session
// cookie's attributes, identify linking the visitor's anonymous id, logout, tiers and points.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRuntime } from './helpers/runtime.ts';
import { waitForDrain, type Runtime } from '../bin/runtime.ts';
import { hashPassword, verifyPassword } from '../storefront/passwords.ts';
import { standing } from '../storefront/tiers.ts';
import { shopFor, type Shop } from '../storefront/shop.ts';

let rt: Runtime & { dir: string };
let shop: Shop;
beforeAll(async () => {
  rt = await testRuntime();
  shop = await shopFor(rt.deps);
  await shop.importProducts([{ product_id: 'GOLDBAR', title: 'Gold bar', description: '', category: 'Luxury', tags: [], price: 450, currency: 'USD', stock: 100, listed: 1 }]);
});
afterAll(async () => {
  await rt?.close();
});

const form = (o: Record<string, string>) => new URLSearchParams(o).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const cookiesOf = (res: { headers: Record<string, unknown> }) => ([] as string[]).concat((res.headers['set-cookie'] as string[] | string | undefined) ?? []);
const jar = (res: { headers: Record<string, unknown> }, prev = '') => {
  const map = new Map(prev.split('; ').filter(Boolean).map((c) => c.split('=') as [string, string]));
  for (const c of cookiesOf(res)) {
    const [pair] = c.split(';');
    const [k, v] = pair!.split('=') as [string, string];
    if (/Max-Age=0/.test(c)) map.delete(k);
    else map.set(k, v);
  }
  return [...map].map(([k, v]) => `${k}=${v}`).join('; ');
};

describe('passwords', () => {
  it('stores scrypt with a per-password salt and its parameters, and verifies only the right password', async () => {
    const [a, b] = [await hashPassword('s3cret-pass'), await hashPassword('s3cret-pass')];
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b); // salted
    expect(a).not.toContain('s3cret');
    expect(await verifyPassword('s3cret-pass', a)).toBe(true);
    expect(await verifyPassword('s3cret-pasS', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
    expect(await verifyPassword('s3cret-pass', null)).toBe(false); // unknown member: checked against a dummy hash
    expect(await verifyPassword('x', 'scrypt$1$1$1$$')).toBe(false);
  });
});

describe('tiers', () => {
  it('derives tier and points from net spend', () => {
    expect(standing(0)).toEqual({ spend: 0, points: 0, tier: 'bronze', next: { tier: 'silver', remaining: 200 } });
    expect(standing(199.99)).toMatchObject({ tier: 'bronze', points: 199 });
    expect(standing(200)).toMatchObject({ tier: 'silver', points: 200, next: { tier: 'gold', remaining: 800 } });
    expect(standing(1234.5)).toEqual({ spend: 1234.5, points: 1234, tier: 'gold', next: null });
  });
});

describe('sign-up, login, sessions', () => {
  it('signs up through the form, sets an HttpOnly SameSite=Lax session cookie and identifies the visitor', async () => {
    const home = await rt.app!.inject({ url: '/shop', headers: { 'accept-language': 'en-GB' } });
    const aid = cookiesOf(home).find((c) => c.startsWith('cvm_aid='))!;
    expect(aid).toMatch(/^cvm_aid=[0-9a-f-]{36}; Path=\/; SameSite=Lax; Max-Age=31536000$/); // readable by cvm.js
    let cookie = jar(home);
    const anonymousId = /cvm_aid=([^;]+)/.exec(cookie)![1]!;
    // The anonymous visitor puts something in the cart before signing up: it follows them.
    const add = await rt.app!.inject({ method: 'POST', url: '/shop/cart/add', headers: { ...FORM, cookie }, payload: form({ product_id: 'GOLDBAR', quantity: '1' }) });
    expect(add.statusCode).toBe(303);
    cookie = jar(add, cookie);

    const res = await rt.app!.inject({ method: 'POST', url: '/shop/signup', headers: { ...FORM, cookie }, payload: form({ name: 'Ana <b>Lima</b>', email: ' Ana@Example.com ', password: 'longenough', next: '/shop/checkout' }) });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/shop/checkout');
    const session = cookiesOf(res).find((c) => c.startsWith('cvm_shop_session='))!;
    expect(session).toMatch(/^cvm_shop_session=[A-Za-z0-9_-]{43}; Path=\/shop; SameSite=Lax; Max-Age=2592000; HttpOnly$/);
    cookie = jar(res, cookie);

    const me = await rt.app!.inject({ url: '/shop/api/me', headers: { cookie } });
    expect(me.json()).toMatchObject({ email: 'ana@example.com', name: 'Ana <b>Lima</b>', anonymous_id: anonymousId, tier: 'bronze', points: 0 });
    const customerId = me.json().customer_id as string;
    const cart = await rt.app!.inject({ url: '/shop/api/cart', headers: { cookie } });
    expect(cart.json().lines.map((l: { product_id: string }) => l.product_id)).toEqual(['GOLDBAR']);

    // The account page escapes the name.
    const account = await rt.app!.inject({ url: '/shop/account', headers: { cookie } });
    expect(account.body).toContain('Ana &lt;b&gt;Lima&lt;/b&gt;');
    expect(account.body).not.toContain('<b>Lima</b>');

    // identify: the anonymous id is linked to the new customer.
    expect(await waitForDrain(rt, 30_000)).toBe(true);
    const links = await rt.deps.ch.rows<{ customer_id: string }>('SELECT customer_id FROM identities FINAL WHERE anonymous_id = {a:String}', { a: anonymousId });
    expect(links).toEqual([{ customer_id: customerId }]);

    // Stored: an scrypt hash, never the password.
    const [row] = await rt.deps.ch.rows<{ password_hash: string; email: string }>('SELECT password_hash, email FROM shop_members FINAL WHERE customer_id = {c:String}', { c: customerId });
    // The e-mail is encrypted at rest (PII cipher) and opens to the normalised address.
    expect(row!.email).toMatch(/^enc:v1:/);
    expect(rt.deps.services.pii.open(row!.email)).toBe('ana@example.com');
    expect(row!.password_hash).toMatch(/^scrypt\$/);
    const sessions = await rt.deps.ch.rows<{ token_hash: string }>('SELECT token_hash FROM shop_sessions FINAL WHERE customer_id = {c:String}', { c: customerId });
    const token = /cvm_shop_session=([^;]+)/.exec(session)![1]!;
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.token_hash).not.toContain(token);
  });

  it('makes no second account for an email (without saying it has one), refuses bad emails and short passwords', async () => {
    // Another password for a taken email: a neutral answer and no session (no account enumeration; see security.login.test.ts).
    const dup = await rt.app!.inject({ method: 'POST', url: '/shop/api/signup', payload: { email: 'ANA@example.com', name: 'Other', password: 'not-anas-password' } });
    expect(dup.statusCode).toBe(202);
    expect(dup.json().status).toBe('check_login');
    expect((await rt.app!.inject({ method: 'POST', url: '/shop/api/signup', payload: { email: 'not-an-email', name: 'X', password: 'longenough' } })).json().error).toBe('bad_email');
    expect((await rt.app!.inject({ method: 'POST', url: '/shop/api/signup', payload: { email: 'x@example.com', name: 'X', password: 'short' } })).json().error).toBe('short_password');
    // Two sign-ups racing with one email: one account, both signed in to it.
    const race = await Promise.all([1, 2].map(() => rt.app!.inject({ method: 'POST', url: '/shop/api/signup', payload: { email: 'race@example.com', name: 'R', password: 'longenough' } })));
    expect(race.map((r) => r.statusCode)).toEqual([201, 201]);
    expect(race[0]!.json().customer_id).toBe(race[1]!.json().customer_id);
    // The form shows the login form with a neutral hint, in the visitor's language.
    const zh = await rt.app!.inject({ method: 'POST', url: '/shop/signup?lang=zh-CN', headers: FORM, payload: form({ name: 'A', email: 'ana@example.com', password: 'not-anas-password' }) });
    expect(zh.statusCode).toBe(200);
    expect(zh.body).toContain('如果你已用该邮箱注册过账户');
  });

  it('logs in with the right password only, and logs out for good', async () => {
    const wrong = await rt.app!.inject({ method: 'POST', url: '/shop/login', headers: FORM, payload: form({ email: 'ana@example.com', password: 'wrong-password' }) });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).toContain('Email or password is wrong.');
    const unknown = await rt.app!.inject({ method: 'POST', url: '/shop/login', headers: FORM, payload: form({ email: 'nobody@example.com', password: 'whatever1' }) });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.body).toContain('Email or password is wrong.'); // the same answer: no account enumeration

    const ok = await rt.app!.inject({ method: 'POST', url: '/shop/login', headers: FORM, payload: form({ email: 'ANA@example.com', password: 'longenough', next: '//evil.example/x' }) });
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/shop/account'); // no open redirect
    const cookie = jar(ok);
    expect((await rt.app!.inject({ url: '/shop/account', headers: { cookie } })).statusCode).toBe(200);

    // A form posted from another site is refused.
    const csrf = await rt.app!.inject({ method: 'POST', url: '/shop/logout', headers: { ...FORM, cookie, origin: 'https://evil.example' }, payload: '' });
    expect(csrf.statusCode).toBe(403);

    const out = await rt.app!.inject({ method: 'POST', url: '/shop/logout', headers: { ...FORM, cookie }, payload: '' });
    expect(out.statusCode).toBe(303);
    expect(cookiesOf(out).find((c) => c.startsWith('cvm_shop_session='))).toContain('Max-Age=0');
    // The old token no longer opens the account, even if a client keeps sending it.
    const after = await rt.app!.inject({ url: '/shop/account', headers: { cookie } });
    expect(after.statusCode).toBe(303);
    expect(after.headers.location).toContain('/shop/login');
  });

  it('shows tier and points from paid orders, net of cancellations', async () => {
    const login = await rt.app!.inject({ method: 'POST', url: '/shop/api/login', payload: { email: 'ana@example.com', password: 'longenough' } });
    const cookie = jar(login);
    const place = async () => {
      await rt.app!.inject({ method: 'POST', url: '/shop/api/cart/items', headers: { cookie }, payload: { product_id: 'GOLDBAR', quantity: 1 } });
      const o = (await rt.app!.inject({ method: 'POST', url: '/shop/api/checkout', headers: { cookie } })).json().order_id as string;
      expect((await rt.app!.inject({ method: 'POST', url: `/shop/api/orders/${o}/pay`, headers: { cookie } })).statusCode).toBe(200);
      return o;
    };
    // The cart still holds the gold bar from before sign-up.
    const first = (await rt.app!.inject({ method: 'POST', url: '/shop/api/checkout', headers: { cookie } })).json().order_id as string;
    await rt.app!.inject({ method: 'POST', url: `/shop/api/orders/${first}/pay`, headers: { cookie } });
    const second = await place();
    const third = await place();
    let me = (await rt.app!.inject({ url: '/shop/api/me', headers: { cookie } })).json();
    expect(me).toMatchObject({ spend: 1350, points: 1350, tier: 'gold' });
    await rt.app!.inject({ method: 'POST', url: `/shop/api/orders/${third}/cancel`, headers: { cookie } });
    await rt.app!.inject({ method: 'POST', url: `/shop/api/orders/${second}/cancel`, headers: { cookie } });
    me = (await rt.app!.inject({ url: '/shop/api/me', headers: { cookie } })).json();
    expect(me).toMatchObject({ spend: 450, points: 450, tier: 'silver' });
    const page = await rt.app!.inject({ url: '/shop/account?lang=zh-CN', headers: { cookie } });
    expect(page.body).toMatch(/data-tier="silver" data-points="450"/);
    expect(page.body).toContain('银牌');
    expect(page.body).toContain(first);
  });

  it('keeps members and sessions across a restart', async () => {
    const login = await rt.app!.inject({ method: 'POST', url: '/shop/api/login', payload: { email: 'ana@example.com', password: 'longenough' } });
    const cookie = jar(login);
    await rt.close();
    rt = await testRuntime({ CVM_DATA_DIR: rt.dir });
    shop = await shopFor(rt.deps);
    const me = await rt.app!.inject({ url: '/shop/api/me', headers: { cookie } });
    expect(me.statusCode).toBe(200);
    expect(me.json().email).toBe('ana@example.com');
  });
});
