// Server-side sessions on the real engines: events without a client session id get one (30-minute gap),
// server events join the visitor's open session, and the sessions table has what dashboards read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identitySecrets } from '../ingest/identity.ts';
import { event, signedBatch } from './helpers/events.ts';
import { WRITE, testRuntime, FIXTURE_NOW } from './helpers/runtime.ts';
import { waitForDrain, type Runtime } from '../bin/runtime.ts';
import { serverSessionId } from '../transform/sessionise.ts';

let rt: Runtime & { dir: string };
const MIN = 60_000;
const T0 = Math.floor(FIXTURE_NOW / MIN) * MIN - 2 * 86_400_000;
const at = (m: number) => new Date(T0 + m * MIN);
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

async function post(batch: unknown[], opts: { browser?: boolean; ua?: string } = {}) {
  const headers: Record<string, string> = { 'x-cvm-key': WRITE, ...(opts.browser ? { origin: 'https://shop.example' } : {}), ...(opts.ua ? { 'user-agent': opts.ua } : {}) };
  const res = await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers, payload: { batch: signedBatch(identitySecrets(rt.deps.config), rt.deps.config.keys.demoSite, batch) } });
  expect(res.statusCode).toBe(200);
  expect(res.json().rejected).toEqual([]);
}
const page = (who: Record<string, string>, m: number, url: string, type = 'page_view', props: Record<string, unknown> = {}) => ({
  ...event(type, who, props, at(m)),
  context: { url, country: 'France' },
});

beforeAll(async () => {
  rt = await testRuntime();
  const v = { anonymous_id: 'sv-1' };
  await post(
    [
      page(v, 0, 'https://shop.example/?utm_source=mail'),
      page(v, 2, 'https://shop.example/products/p1', 'product_view', { product_id: 'p1' }),
      page(v, 5, 'https://shop.example/products/p1', 'add_to_cart', { product_id: 'p1', price: 40, currency: 'USD' }),
      page({ ...v, customer_id: 'sv-cust' }, 6, 'https://shop.example/account', 'identify'),
    ],
    { browser: true, ua: IPHONE },
  );
  // The back end reports the order with the customer id only; then a refund a day and a half on.
  await post([
    { ...event('purchase', { customer_id: 'sv-cust' }, { order_id: 'sv-o1', total: 40, currency: 'USD', items: [{ product_id: 'p1', quantity: 1, price: 40 }] }, at(8)) },
    { ...event('refund', { customer_id: 'sv-cust' }, { order_id: 'sv-o1', amount: 40, currency: 'USD' }, at(36 * 60)) },
  ]);
  // Back after an hour away: a new session.
  await post([page(v, 68, 'https://shop.example/sale')], { browser: true, ua: IPHONE });
  // A crawler, and a visitor whose snippet sends its own session ids.
  await post([page({ anonymous_id: 'bot-1' }, 1, 'https://shop.example/')], { browser: true, ua: GOOGLEBOT });
  await post([{ ...page({ anonymous_id: 'sv-2' }, 3, 'https://shop.example/'), session_id: 'client-abc' }], { browser: true });
  expect(await waitForDrain(rt, 30_000)).toBe(true);
});
afterAll(async () => {
  await rt?.close();
});

describe('server-side sessions', () => {
  it('assigns deterministic ids with a 30-minute inactivity gap, and server events join the open session', async () => {
    const rows = await rt.deps.ch.rows<{ type: string; session_id: string }>(
      "SELECT type, session_id FROM events WHERE anonymous_id = 'sv-1' OR customer_id = 'sv-cust' ORDER BY ts",
    );
    const first = serverSessionId('demo', 'sv-1', T0);
    const second = serverSessionId('demo', 'sv-1', T0 + 68 * MIN);
    expect(rows).toEqual([
      { type: 'page_view', session_id: first },
      { type: 'product_view', session_id: first },
      { type: 'add_to_cart', session_id: first },
      { type: 'identify', session_id: first },
      { type: 'purchase', session_id: first },
      { type: 'page_view', session_id: second },
      { type: 'refund', session_id: '' }, // back office, a day later: no visit
    ]);
  });

  it('builds the sessions table dashboards read', async () => {
    const rows = await rt.deps.ch.rows<Record<string, unknown>>(
      "SELECT * EXCEPT (started_at, ended_at) FROM sessions WHERE site = 'demo' ORDER BY started_at, session_id",
    );
    expect(rows).toEqual([
      {
        session_id: serverSessionId('demo', 'sv-1', T0), site: 'demo', anonymous_id: 'sv-1', customer_id: 'sv-cust', duration_s: 480,
        page_views: 1, events: 5, pages: 3, bounced: 0, entry_path: '/', exit_path: '/account', converted: 1, orders: 1, revenue_base: 40, country: 'FR', device: 'mobile',
      },
      {
        session_id: 'client-abc', site: 'demo', anonymous_id: 'sv-2', customer_id: '', duration_s: 0,
        page_views: 1, events: 1, pages: 1, bounced: 1, entry_path: '/', exit_path: '/', converted: 0, orders: 0, revenue_base: 0, country: 'FR', device: 'desktop', // inject's own user agent
      },
      {
        // Anonymous only, resolved to the customer through the identify of the first visit.
        session_id: serverSessionId('demo', 'sv-1', T0 + 68 * MIN), site: 'demo', anonymous_id: 'sv-1', customer_id: 'sv-cust', duration_s: 0,
        page_views: 1, events: 1, pages: 1, bounced: 1, entry_path: '/sale', exit_path: '/sale', converted: 0, orders: 0, revenue_base: 0, country: 'FR', device: 'mobile',
      },
    ]);
    const [times] = await rt.deps.ch.rows<{ s: string; e: string }>(`SELECT toString(started_at) AS s, toString(ended_at) AS e FROM sessions WHERE session_id = '${serverSessionId('demo', 'sv-1', T0)}'`);
    expect(times).toEqual({ s: new Date(T0).toISOString().replace('T', ' ').slice(0, 23), e: new Date(T0 + 8 * MIN).toISOString().replace('T', ' ').slice(0, 23) });
  });

  it('leaves bots out of sessions and models but keeps their events, flagged', async () => {
    const [bot] = await rt.deps.ch.rows<{ is_bot: number; session_id: string }>("SELECT is_bot, session_id FROM events WHERE anonymous_id = 'bot-1'");
    expect(bot!.is_bot).toBe(1);
    expect(bot!.session_id).toMatch(/^srv_/);
    const [counts] = await rt.deps.ch.rows<{ resolved: number; sessions: number }>(
      "SELECT (SELECT count() FROM events_resolved WHERE anonymous_id = 'bot-1') AS resolved, (SELECT count() FROM sessions WHERE anonymous_id = 'bot-1') AS sessions",
    );
    expect(counts).toEqual({ resolved: 0, sessions: 0 });
  });

  it('continues an open session after a restart (state seeded from stored events)', async () => {
    await rt.close();
    rt = await testRuntime({ CVM_DATA_DIR: rt.dir });
    await post([page({ anonymous_id: 'sv-1' }, 80, 'https://shop.example/sale/shoes')], { browser: true, ua: IPHONE });
    expect(await waitForDrain(rt, 30_000)).toBe(true);
    const [row] = await rt.deps.ch.rows<{ session_id: string }>("SELECT session_id FROM events WHERE path = '/sale/shoes'");
    expect(row!.session_id).toBe(serverSessionId('demo', 'sv-1', T0 + 68 * MIN));
    const [s] = await rt.deps.ch.rows<{ pages: number; bounced: number; duration_s: number }>(`SELECT pages, bounced, duration_s FROM sessions WHERE session_id = '${row!.session_id}'`);
    expect(s).toEqual({ pages: 2, bounced: 0, duration_s: 720 });
  });
});
