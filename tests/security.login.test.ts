// Shop logins under attack: password guessing on one account, and spraying many accounts from one
// address, are throttled with growing locks (429 + Retry-After) during which even the right password is
// refused; sign-up does not say which e-mails have accounts and is throttled like a login when it
// checks a password. The legitimate flows (sign up, log in, sign up again with one's own password) work.
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginThrottleFor, type LoginThrottle } from '../storefront/login-throttle.ts';
import { testRuntime } from './helpers/runtime.ts';

let rt: Awaited<ReturnType<typeof testRuntime>>;
let throttle: LoginThrottle;
let now = Date.parse('2026-06-15T12:00:00Z');

beforeAll(async () => {
  rt = await testRuntime();
  throttle = loginThrottleFor(rt.deps);
  // The throttle's clock stands still unless a test moves it: no test waits for a lock to run out.
  throttle.now = () => now;
});
afterAll(async () => {
  await rt?.close();
});

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const inject = (o: InjectOptions) => rt.app!.inject(o);
const apiLogin = (email: string, password: string, ip: string) => inject({ method: 'POST', url: '/shop/api/login', remoteAddress: ip, payload: { email, password } });
const apiSignup = (email: string, password: string, ip: string, name = 'Test Person') => inject({ method: 'POST', url: '/shop/api/signup', remoteAddress: ip, payload: { email, password, name } });
const sessionCookie = (res: LightMyRequestResponse) => ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('cvm_shop_session=') && !c.includes('Max-Age=0'));

describe('login throttling', () => {
  it('60 wrong passwords, then the right one: 429 with Retry-After, not a session; after the lock, it works', async () => {
    const ip = '198.51.100.1';
    expect((await apiSignup('victim@example.com', 'the right password', '198.51.100.200')).statusCode).toBe(201);
    const codes: number[] = [];
    for (let i = 0; i < 60; i++) codes.push((await apiLogin('victim@example.com', `guess-${i}`, ip)).statusCode);
    expect(codes.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(codes.slice(5).every((c) => c === 429)).toBe(true);

    const right = await apiLogin('victim@example.com', 'the right password', ip);
    expect(right.statusCode).toBe(429);
    expect(sessionCookie(right)).toBeUndefined();
    expect(right.json()).toMatchObject({ error: 'too_many_attempts', field: 'password' });
    const wait = Number(right.headers['retry-after']);
    expect(wait).toBeGreaterThan(0);
    expect(right.json().retry_after_seconds).toBe(wait);

    // From another address too: the account itself is locked.
    expect((await apiLogin('victim@example.com', 'the right password', '203.0.113.50')).statusCode).toBe(429);

    now += wait * 1000;
    const after = await apiLogin('victim@example.com', 'the right password', ip);
    expect(after.statusCode, after.body).toBe(200);
    expect(sessionCookie(after)).toBeDefined();
    // Success forgets the account's failures: one typo is a plain 401 again.
    expect((await apiLogin('victim@example.com', 'typo', ip)).statusCode).toBe(401);
  });

  it('backs off: each failure after a lock doubles the next lock', async () => {
    const ip = '198.51.100.2';
    for (let i = 0; i < 5; i++) expect((await apiLogin('backoff@example.com', 'wrong', ip)).statusCode).toBe(401);
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const locked = await apiLogin('backoff@example.com', 'wrong', ip);
      expect(locked.statusCode).toBe(429);
      waits.push(Number(locked.headers['retry-after']));
      now += waits.at(-1)! * 1000;
      expect((await apiLogin('backoff@example.com', 'wrong', ip)).statusCode).toBe(401); // checked, wrong, locked again
    }
    expect(waits).toEqual([waits[0]!, waits[0]! * 2, waits[0]! * 4, waits[0]! * 8]);
  });

  it('an unknown e-mail is throttled exactly like a known one (the throttle reveals no accounts)', async () => {
    expect((await apiSignup('known@example.com', 'known password', '203.0.113.80')).statusCode).toBe(201);
    const known: Array<[number, unknown]> = [];
    const unknown: Array<[number, unknown]> = [];
    for (let i = 0; i < 8; i++) {
      const k = await apiLogin('known@example.com', `x${i}`, '198.51.100.3');
      const u = await apiLogin('nobody-here@example.com', `x${i}`, '198.51.100.4');
      known.push([k.statusCode, k.headers['retry-after']]);
      unknown.push([u.statusCode, u.headers['retry-after']]);
    }
    expect(unknown).toEqual(known);
    expect(known.map(([c]) => c)).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
  });

  it('spraying many accounts from one address locks that address, not other clients', async () => {
    const ip = '198.51.100.5';
    const codes: number[] = [];
    for (let i = 0; i < 40; i++) codes.push((await apiLogin(`spray-${i}@example.com`, 'Summer2026!', ip)).statusCode);
    expect(codes.filter((c) => c === 401)).toHaveLength(30);
    expect(codes.slice(30).every((c) => c === 429)).toBe(true);
    expect((await apiSignup('sprayed-user@example.com', 'their own password', '203.0.113.60')).statusCode).toBe(201);
    // The sprayer's address cannot log in even with a right password…
    expect((await apiLogin('sprayed-user@example.com', 'their own password', ip)).statusCode).toBe(429);
    // …the user, from their own address, can.
    expect((await apiLogin('sprayed-user@example.com', 'their own password', '203.0.113.61')).statusCode).toBe(200);
  });

  it('the login form answers 429 with Retry-After and says when to try again', async () => {
    const ip = '198.51.100.6';
    let res: LightMyRequestResponse | null = null;
    for (let i = 0; i < 7; i++) res = await inject({ method: 'POST', url: '/shop/login', remoteAddress: ip, headers: FORM, payload: `email=form%40example.com&password=wrong${i}` });
    expect(res!.statusCode).toBe(429);
    expect(Number(res!.headers['retry-after'])).toBeGreaterThan(0);
    expect(res!.body).toContain('Too many attempts. Try again in');
  });
});

describe('sign-up without account enumeration', () => {
  it('a taken e-mail with another password gets a neutral answer and no session; the JSON never says the account exists', async () => {
    const owner = await apiSignup('owner@example.com', 'owner password', '198.51.100.20', 'Owner');
    expect(owner.statusCode).toBe(201);
    const probe = await apiSignup('OWNER@example.com', 'attacker guess', '198.51.100.21', 'Attacker');
    expect(probe.statusCode).toBe(202);
    expect(probe.json()).toEqual({ status: 'check_login', message: expect.any(String) });
    expect(probe.body).not.toMatch(/exist|taken|already registered|409/i);
    expect(sessionCookie(probe)).toBeUndefined();

    // The HTML form: the login page with a hint that reads the same whether or not the e-mail has an account.
    const form = await inject({ method: 'POST', url: '/shop/signup', remoteAddress: '198.51.100.22', headers: FORM, payload: 'name=A&email=owner%40example.com&password=another+guess' });
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain('id="login-form"');
    expect(form.body).toContain('If you already have an account with this email');
    expect(form.body).not.toContain('An account with this email exists');
    expect(sessionCookie(form)).toBeUndefined();
  });

  it('signing up again with one’s own password simply signs in to the same account', async () => {
    const again = await apiSignup('owner@example.com', 'owner password', '198.51.100.23', 'Owner Again');
    expect(again.statusCode).toBe(201);
    const cookie = sessionCookie(again)!.split(';')[0]!;
    const me = await inject({ url: '/shop/api/me', headers: { cookie } });
    expect(me.json()).toMatchObject({ email: 'owner@example.com', name: 'Owner' });
  });

  it('password checks through sign-up are throttled like logins', async () => {
    const ip = '198.51.100.24';
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) codes.push((await apiSignup('owner@example.com', `guess ${i} long`, ip)).statusCode);
    expect(codes.slice(0, 5)).toEqual([202, 202, 202, 202, 202]);
    expect(codes.slice(5).every((c) => c === 429)).toBe(true);
    // The same account's login is locked too.
    expect((await apiLogin('owner@example.com', 'owner password', '203.0.113.70')).statusCode).toBe(429);
  });

  it('new sign-ups through the form still land signed in where they were going', async () => {
    const res = await inject({ method: 'POST', url: '/shop/signup', remoteAddress: '198.51.100.25', headers: FORM, payload: 'name=New+Member&email=new-member%40example.com&password=longenough&next=%2Fshop%2Fcheckout' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/shop/checkout');
    const cookie = sessionCookie(res)!.split(';')[0]!;
    expect((await inject({ url: '/shop/api/me', headers: { cookie } })).json()).toMatchObject({ email: 'new-member@example.com', name: 'New Member' });
  });
});
