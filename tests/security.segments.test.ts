// Hostile input against saved segments: rule fields that name Object.prototype's members are unknown
// fields (400, never a 500), a segment is deleted only by the key that saved it or an admin, webhooks are
// set by admins only and their URLs (which carry the receiver's token) are masked for everyone else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuleError, parseRule } from '../api/segments/rules.ts';
import { compileRule } from '../api/segments/rule-sql.ts';
import { newKey } from './api.fixture.ts';
import { testRuntime } from './helpers/runtime.ts';

let rt: Awaited<ReturnType<typeof testRuntime>>;
let keys: { analystA: string; analystB: string; admin: string };

const as = (key: string, o: { method: 'GET' | 'POST' | 'DELETE'; url: string; payload?: Record<string, unknown> }) =>
  rt.app!.inject({ method: o.method, url: o.url, ...(o.payload ? { payload: o.payload } : {}), headers: { authorization: `Bearer ${key}` } });

beforeAll(async () => {
  rt = await testRuntime();
  keys = { analystA: await newKey(rt, 'analyst'), analystB: await newKey(rt, 'analyst'), admin: await newKey(rt, 'admin') };
  // DNS for the test: hooks.example.com is a public address (no real network is needed to save it).
  rt.deps.services.segments.webhookPolicy.lookup = async (host) => {
    if (host === 'hooks.example.com') return [{ address: '93.184.215.14', family: 4 }];
    throw new Error(`ENOTFOUND ${host}`);
  };
});
afterAll(async () => {
  await rt?.close();
});

const PROTOTYPE_NAMES = ['constructor', '__proto__', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf', 'CONSTRUCTOR', '__PROTO__'];

describe('rule fields named after Object.prototype members', () => {
  it('are unknown fields to the parser, with their position', () => {
    for (const name of PROTOTYPE_NAMES) {
      for (const rule of [`${name} = 1`, `${name} = 'x'`, `clv > 1 AND ${name} IS NULL`, `${name} IN (1, 2)`]) {
        let err: unknown;
        try {
          parseRule(rule);
        } catch (e) {
          err = e;
        }
        expect(err, rule).toBeInstanceOf(RuleError);
        expect((err as RuleError).problem, rule).toContain(`unknown field '${name}'`);
      }
    }
  });

  it('cannot reach SQL through a hand-built tree either', () => {
    for (const name of PROTOTYPE_NAMES) {
      expect(() => compileRule({ kind: 'cmp', field: name.toLowerCase(), op: '=', value: { type: 'number', value: 1, pos: 1 } }), name).toThrow(/not in the allow-list/);
      expect(() => compileRule({ kind: 'null', field: name.toLowerCase(), negated: false }), name).toThrow(/not in the allow-list/);
    }
  });

  it('answer 400 invalid_rule naming the field over HTTP, never a 5xx', async () => {
    for (const name of PROTOTYPE_NAMES) {
      const res = await as(keys.analystA, { method: 'POST', url: '/v1/segments', payload: { name: 'proto', rule: `${name} = 1` } });
      expect(res.statusCode, `${name}: ${res.body}`).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid_rule', field: 'rule', position: 1 });
      expect(res.json().message).toContain(`unknown field '${name}'`);
    }
    // The server still answers.
    expect((await as(keys.analystA, { method: 'POST', url: '/v1/segments', payload: { name: 'fine', rule: 'clv > 1' } })).statusCode).toBe(201);
  });
});

describe('who may delete a segment', () => {
  it('records the creating key; another analyst gets 403, the creator and an admin may delete', async () => {
    const made = await as(keys.analystA, { method: 'POST', url: '/v1/segments', payload: { name: 'A1', rule: 'clv > 10' } });
    expect(made.statusCode, made.body).toBe(201);
    const a1 = made.json().segment;
    const keyA = rt.deps.services.keys.secretKeys.resolve(keys.analystA)!.keyId;
    expect(a1.created_by).toBe(keyA);

    const refused = await as(keys.analystB, { method: 'DELETE', url: `/v1/segments/${a1.id}` });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: 'forbidden', field: 'id' });
    expect((await as(keys.analystB, { method: 'GET', url: `/v1/segments/${a1.id}` })).statusCode).toBe(200); // still there

    expect((await as(keys.analystA, { method: 'DELETE', url: `/v1/segments/${a1.id}` })).statusCode).toBe(204);
    expect((await as(keys.analystA, { method: 'GET', url: `/v1/segments/${a1.id}` })).statusCode).toBe(404);

    const a2 = (await as(keys.analystA, { method: 'POST', url: '/v1/segments', payload: { name: 'A2', rule: 'clv > 20' } })).json().segment;
    expect((await as(keys.admin, { method: 'DELETE', url: `/v1/segments/${a2.id}` })).statusCode).toBe(204);
    const [audit] = await rt.deps.ch.rows<{ actor: string }>(`SELECT actor FROM audit_log WHERE action = 'segment_delete' AND target = {id:String}`, { id: a2.id });
    expect(audit).toBeDefined();
  });
});

describe('webhooks on segments', () => {
  const URL_WITH_TOKEN = 'https://hooks.example.com/services/T000/B000/s3cr3t-token?sig=abc';

  it('only an admin sets one (an analyst gets 403 naming webhook_url, and nothing is saved)', async () => {
    const before = (await as(keys.admin, { method: 'GET', url: '/v1/segments' })).json().segments.length;
    const res = await as(keys.analystA, { method: 'POST', url: '/v1/segments', payload: { name: 'hook', rule: 'clv > 1', webhook_url: URL_WITH_TOKEN } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: 'forbidden', field: 'webhook_url' });
    expect((await as(keys.admin, { method: 'GET', url: '/v1/segments' })).json().segments.length).toBe(before);
  });

  it('shows the whole URL to admins and only scheme and host to analysts', async () => {
    const made = await as(keys.admin, { method: 'POST', url: '/v1/segments', payload: { name: 'hook', rule: 'clv > 1', webhook_url: URL_WITH_TOKEN } });
    expect(made.statusCode, made.body).toBe(201);
    const id = made.json().segment.id as string;
    expect(made.json().segment.webhook_url).toBe(URL_WITH_TOKEN);

    const adminView = (await as(keys.admin, { method: 'GET', url: `/v1/segments/${id}` })).json().segment;
    expect(adminView.webhook_url).toBe(URL_WITH_TOKEN);

    for (const res of [await as(keys.analystA, { method: 'GET', url: `/v1/segments/${id}` }), await as(keys.analystA, { method: 'GET', url: '/v1/segments' })]) {
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toContain('s3cr3t-token');
      expect(res.body).not.toContain('sig=abc');
      expect(res.body).not.toContain('/services/');
    }
    const analystView = (await as(keys.analystA, { method: 'GET', url: `/v1/segments/${id}` })).json().segment;
    expect(analystView.webhook_url).toBe('https://hooks.example.com/…');
    // An analyst cannot delete the admin's webhook segment either.
    expect((await as(keys.analystA, { method: 'DELETE', url: `/v1/segments/${id}` })).statusCode).toBe(403);
  });
});
