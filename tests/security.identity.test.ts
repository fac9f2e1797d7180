// Identity verification, hostile: the public write key sits in every page, so an identify sent with it
// may only link an anonymous id or change a profile when it carries the shop's signature of the customer
// id (HMAC-SHA256 under the site's secret). Forged ones (unsigned, wrongly signed, another site's key)
// are stored as events and change nothing. Traits merge: a later identify with fewer traits keeps what is
// held, an explicit null removes one trait. All on the real engines (chDB, embedded log, the collector).
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForDrain, type Runtime } from '../bin/runtime.ts';
import { identitySecrets } from '../ingest/identity.ts';
import { CvmClient } from '../ingest/server-client.ts';
import { FxTable } from '../transform/fx.ts';
import { standardise } from '../transform/standardise.ts';
import { ADMIN, WRITE, testRuntime, FIXTURE_NOW } from './helpers/runtime.ts';

let rt: Runtime & { dir: string };
let otherKey = '';
const auth = { authorization: `Bearer ${ADMIN}` };
const at = (minutes: number) => new Date(FIXTURE_NOW - 86_400_000 + minutes * 60_000).toISOString();
const sign = (site: string, id: string) => identitySecrets(rt.deps.config).sign(site, id);

function identify(customerId: string, anonymousId: string, traits: Record<string, unknown> | undefined, minute: number, extra: Record<string, unknown> = {}) {
  return { event_id: crypto.randomUUID(), type: 'identify', ts: at(minute), customer_id: customerId, anonymous_id: anonymousId, ...(traits ? { traits } : {}), ...extra };
}
const signed = (site: string, e: ReturnType<typeof identify>) => ({ ...e, identity_signature: sign(site, e.customer_id) });

async function send(events: unknown[], key = WRITE, headers: Record<string, string> = {}) {
  const res = await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': key, ...headers }, payload: { batch: events } });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json().rejected).toEqual([]);
  expect(await waitForDrain(rt, 30_000)).toBe(true);
}

async function customer(id: string) {
  const res = await rt.app!.inject({ method: 'GET', url: `/v1/customers/${encodeURIComponent(id)}`, headers: auth });
  expect(res.statusCode).toBe(200);
  const c = res.json();
  return { profile: c.profile as { site: string; consent: boolean; traits: Record<string, unknown> } | null, links: (c.identities as Array<{ anonymous_id: string }>).map((i) => i.anonymous_id).sort() };
}

async function resolvedOf(anonymousId: string, type: string): Promise<string[]> {
  const rows = await rt.deps.ch.rows<{ c: string }>(
    'SELECT DISTINCT resolved_customer_id AS c FROM events_resolved WHERE anonymous_id = {a:String} AND type = {t:String} ORDER BY c',
    { a: anonymousId, t: type },
  );
  return rows.map((r) => r.c);
}

async function optedOut(id: string): Promise<boolean> {
  const rows = await rt.deps.ch.rows('SELECT customer_id FROM customers_opted_out WHERE customer_id = {id:String}', { id });
  return rows.length > 0;
}

const VICTIM = { id: 'cust-victim', anon: 'anon-victim', email: 'victim@example.com', name: 'Vic Tim' };

beforeAll(async () => {
  rt = await testRuntime();
  otherKey = (await rt.deps.services.keys.create({ role: 'write', name: 'other shop', site: 'other', origins: ['*'] })).secret;
  // The shop vouched for the victim: a signed identify at sign-up.
  await send([signed('demo', identify(VICTIM.id, VICTIM.anon, { email: VICTIM.email, name: VICTIM.name, country: 'DE', consent: true }, 0))]);
});
afterAll(async () => {
  await rt?.close();
});

describe('forged browser identifies change nothing', () => {
  it('unsigned, wrongly signed, and other-site identifies leave the profile, consent and links as they were', async () => {
    const before = await customer(VICTIM.id);
    expect(before.profile?.traits).toMatchObject({ email: VICTIM.email, name: VICTIM.name });
    expect(before.links).toEqual([VICTIM.anon]);

    const forged = { email: 'attacker@evil.example', name: 'Mallory', consent: false };
    const page = (anon: string, minute: number) => ({ event_id: crypto.randomUUID(), type: 'page_view', ts: at(minute), anonymous_id: anon, context: { url: 'https://shop.example/' } });
    await send([
      identify(VICTIM.id, 'anon-mallory-1', forged, 10), // no signature
      identify(VICTIM.id, 'anon-mallory-2', forged, 11, { identity_signature: sign('demo', 'cust-mallory') }), // someone else's signature
      identify(VICTIM.id, 'anon-mallory-3', forged, 12, { identity_signature: 'ab'.repeat(32) }), // made up
      page('anon-mallory-1', 13),
    ]);
    await send(
      [
        identify(VICTIM.id, 'anon-mallory-4', forged, 14), // another site's key, unsigned
        signed('demo', identify(VICTIM.id, 'anon-mallory-5', forged, 15)), // another site's key with demo's signature
        { event_id: crypto.randomUUID(), type: 'alias', ts: at(16), customer_id: VICTIM.id, anonymous_id: 'anon-mallory-6' },
      ],
      otherKey,
      { origin: 'https://evil.example' },
    );

    const after = await customer(VICTIM.id);
    expect(after.profile).toMatchObject({ site: 'demo', consent: true });
    expect(after.profile?.traits).toMatchObject({ email: VICTIM.email, name: VICTIM.name, country: 'DE' });
    expect(JSON.stringify(after.profile)).not.toContain('attacker@evil.example');
    expect(JSON.stringify(after.profile)).not.toContain('Mallory');
    expect(after.links).toEqual([VICTIM.anon]);
    expect(await optedOut(VICTIM.id)).toBe(false);
    // The attacker's browsing does not count for the victim.
    expect(await resolvedOf('anon-mallory-1', 'page_view')).toEqual(['']);
    // The merged demo profile is untouched, whichever site is asked.
    const [demo] = await rt.deps.ch.rows<{ traits: string; consent: number }>("SELECT traits, consent FROM customer_profiles WHERE site = 'demo' AND customer_id = {id:String}", { id: VICTIM.id });
    expect(Number(demo!.consent)).toBe(1);

    // Stored as events all the same, marked, and without any signature kept for a replay.
    const stored = await rt.deps.ch.rows<{ n: string; marked: string }>(
      "SELECT count() AS n, countIf(props LIKE '%\"$identity\":\"unverified\"%') AS marked FROM events WHERE type IN ('identify', 'alias') AND customer_id = {id:String} AND anonymous_id LIKE 'anon-mallory-%'",
      { id: VICTIM.id },
    );
    expect(Number(stored[0]!.n)).toBe(6);
    expect(Number(stored[0]!.marked)).toBe(6);
    const leaked = await rt.deps.ch.rows("SELECT raw FROM events_rejected WHERE raw LIKE '%identity_signature%'");
    expect(leaked).toEqual([]);
  });

  it('a verified withdrawal of consent is honoured; an unsigned one, and an unsigned re-consent, are not', async () => {
    await send([signed('demo', identify('cust-consent', 'anon-consent', { email: 'c@example.com', consent: true }, 0))]);
    await send([identify('cust-consent', 'anon-consent', { consent: false }, 20)]);
    expect(await optedOut('cust-consent')).toBe(false);
    await send([signed('demo', identify('cust-consent', 'anon-consent', { consent: false }, 21))]);
    expect(await optedOut('cust-consent')).toBe(true);
    // A later identify that says nothing about consent, and a forged opt-in, keep the withdrawal.
    await send([signed('demo', identify('cust-consent', 'anon-consent', undefined, 22)), identify('cust-consent', 'anon-consent', { consent: true }, 23)]);
    expect(await optedOut('cust-consent')).toBe(true);
    expect((await customer('cust-consent')).profile?.consent).toBe(false);
  });
});

describe('signed identifies link and merge', () => {
  it('links a second device and adds a trait without erasing the others', async () => {
    await send([signed('demo', identify(VICTIM.id, 'anon-victim-phone', { plan: 'gold' }, 30))]);
    const c = await customer(VICTIM.id);
    expect(c.links).toEqual(['anon-victim', 'anon-victim-phone']);
    expect(c.profile?.traits).toMatchObject({ email: VICTIM.email, name: VICTIM.name, plan: 'gold', country: 'DE' });
  });

  it('an empty identify keeps every trait', async () => {
    await send([signed('demo', identify(VICTIM.id, VICTIM.anon, undefined, 31)), signed('demo', identify(VICTIM.id, VICTIM.anon, {}, 32))]);
    expect((await customer(VICTIM.id)).profile?.traits).toMatchObject({ email: VICTIM.email, name: VICTIM.name, plan: 'gold' });
  });

  it('an explicit null removes that one trait', async () => {
    await send([signed('demo', identify(VICTIM.id, VICTIM.anon, { plan: null }, 33))]);
    const traits = (await customer(VICTIM.id)).profile?.traits ?? {};
    expect(traits).not.toHaveProperty('plan');
    expect(traits).toMatchObject({ email: VICTIM.email, name: VICTIM.name });
  });

  it('a late, older identify does not overwrite newer values, and a re-delivered one changes nothing', async () => {
    const late = signed('demo', identify(VICTIM.id, VICTIM.anon, { name: 'Old Name', nickname: 'vic' }, -10));
    await send([late]);
    await send([late]); // the same event again (client retry)
    const traits = (await customer(VICTIM.id)).profile?.traits ?? {};
    expect(traits).toMatchObject({ name: VICTIM.name, nickname: 'vic' });
  });

  it('the server client signs automatically when given the secret', async () => {
    const address = await rt.app!.listen({ port: 0, host: '127.0.0.1' });
    const client = new CvmClient({ host: address, key: WRITE, identitySecret: identitySecrets(rt.deps.config).forSite('demo'), flushIntervalMs: 50 });
    client.identify(VICTIM.id, { name: 'Victoria Tim' }, { anonymous_id: 'anon-victim-laptop', ts: at(40) });
    await client.close();
    expect(client.stats()).toMatchObject({ sent: 1, rejected: 0, failed: 0 });
    expect(await waitForDrain(rt, 30_000)).toBe(true);
    const c = await customer(VICTIM.id);
    expect(c.profile?.traits).toMatchObject({ name: 'Victoria Tim', email: VICTIM.email });
    expect(c.links).toContain('anon-victim-laptop');
  });
});

describe('customers the shop never vouched for', () => {
  it('an unsigned identify cannot claim a new customer id either: no profile, no link (verification required by default)', async () => {
    await send([identify('cust-unclaimed', 'anon-claimer', { email: 'claimer@evil.example' }, 49)]);
    const c = await customer('cust-unclaimed');
    expect(c.profile ?? null).toBeNull();
    expect(c.links).toEqual([]);
    await send([{ event_id: crypto.randomUUID(), type: 'page_view', ts: at(49.5), anonymous_id: 'anon-claimer', context: { url: 'https://shop.example/' } }]);
    expect(await resolvedOf('anon-claimer', 'page_view')).toEqual(['']);
  });
});

describe('CVM_IDENTITY_VERIFICATION=provisional (a shop still rolling out signing)', () => {
  it('takes unsigned identifies for never-vouched customers, and the first signed one replaces all of them', async () => {
    // The same pipeline step with the provisional setting (the runtime above runs with the default, required).
    const r = standardise(stepRecord({ identity: 'unverified' }), { ...stepCtx, identityVerification: 'provisional' });
    if (!r.ok) throw new Error(r.problem.reason);
    expect(r.identity?.unverified).toBe(1);
    expect(r.customer?.unverified).toBe(1);
    rt.deps.config.identityVerification = 'provisional';
    try {
      await send([identify('cust-new', 'anon-squatter', { email: 'squatter@evil.example', nickname: 'squat' }, 50)]);
    } finally {
      rt.deps.config.identityVerification = 'required';
    }
    let c = await customer('cust-new');
    expect(c.profile?.traits).toMatchObject({ email: 'squatter@evil.example' });
    expect(c.links).toEqual(['anon-squatter']);

    await send([signed('demo', identify('cust-new', 'anon-real', { email: 'real@example.com' }, 51))]);
    c = await customer('cust-new');
    expect(c.profile?.traits).toEqual({ email: 'real@example.com' });
    expect(c.links).toEqual(['anon-real']);
    await send([{ event_id: crypto.randomUUID(), type: 'page_view', ts: at(52), anonymous_id: 'anon-squatter', context: { url: 'https://shop.example/' } }]);
    expect(await resolvedOf('anon-squatter', 'page_view')).toEqual(['']);
  });
});

describe('sites', () => {
  it('keeps one site’s customers apart from another’s: a signed identify of site other makes its own profile', async () => {
    await send([signed('other', identify(VICTIM.id, 'anon-other-site', { email: 'someone@other.example' }, 60))], otherKey);
    const profiles = await rt.deps.ch.rows<{ site: string }>('SELECT site FROM customer_profiles WHERE customer_id = {id:String} ORDER BY site', { id: VICTIM.id });
    expect(profiles.map((p) => p.site)).toEqual(['demo', 'other']);
    const c = await customer(VICTIM.id);
    expect(c.profile?.site).toBe('demo');
    expect(c.profile?.traits).toMatchObject({ email: VICTIM.email });
    // Demo's events are never resolved through another site's link.
    await send([{ event_id: crypto.randomUUID(), type: 'page_view', ts: at(61), anonymous_id: 'anon-other-site', context: { url: 'https://shop.example/' } }]);
    expect(await resolvedOf('anon-other-site', 'page_view')).toEqual(['']);
  });
});

describe('bad input', () => {
  it('a malformed signature is a 4xx naming the field, never a 5xx', async () => {
    const res = await rt.app!.inject({
      method: 'POST', url: '/v1/identify', headers: { 'x-cvm-key': WRITE },
      payload: { ...identify(VICTIM.id, VICTIM.anon, { email: 'x@example.com' }, 70), identity_signature: 'not-hex' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().rejected[0]).toMatchObject({ field: 'identity_signature' });
  });
});

const stepCtx = { fx: FxTable.fromRows([]), baseCurrency: 'USD' };
function stepRecord(extra: Record<string, unknown>) {
  return {
    v: 1 as const, site: 'demo', received_at: FIXTURE_NOW, source: 'browser' as const,
    event: { event_id: crypto.randomUUID(), type: 'identify', ts: FIXTURE_NOW - 1000, customer_id: 'c1', anonymous_id: 'a1', traits: { email: 'x@example.com' } },
    ...extra,
  };
}

describe('the transformer step', () => {
  const ctx = stepCtx;
  const rec = stepRecord;
  const rows = (r: ReturnType<typeof standardise>) => {
    if (!r.ok) throw new Error(r.problem.reason);
    return { link: r.identity?.unverified, profile: r.customer?.unverified, marked: r.event.props.includes('"$identity":"unverified"') };
  };

  it('marks collector identifies without a signature, and replayed dead letters, as unverified', () => {
    expect(rows(standardise(rec({ identity: 'verified' }), ctx))).toEqual({ link: 0, profile: 0, marked: false });
    // Required (default): the unsigned identify is an event only, marked; no link, no profile row.
    const strict = standardise(rec({ identity: 'unverified' }), ctx);
    expect(strict.ok && { link: strict.identity, profile: strict.customer, marked: strict.event.props.includes('"$identity":"unverified"') }).toEqual({ link: null, profile: null, marked: true });
    expect(rows(standardise(rec({ identity: 'unverified' }), { ...ctx, identityVerification: 'provisional' }))).toEqual({ link: 1, profile: 1, marked: true });
    expect(rows(standardise(rec({ source: 'replay' }), ctx))).toEqual({ link: 1, profile: 1, marked: true });
    expect(rows(standardise(rec({ source: 'server' }), ctx))).toEqual({ link: 0, profile: 0, marked: false }); // written by cvm in-process
  });

  it('says "not stated" for consent an identify leaves out, so it keeps the one held', () => {
    const consent = (traits: Record<string, unknown>) => {
      const r = standardise({ ...rec({}), event: { ...(rec({}).event as object), traits } }, ctx);
      return r.ok ? r.customer?.consent : null;
    };
    expect([consent({}), consent({ consent: true }), consent({ consent: false })]).toEqual([2, 1, 0]);
  });
});
