// The shop's order state machine and stock, through its HTTP endpoints on real chDB: every one of the
// 30 (state, action) pairs is tried on a real order (allowed ones move it, refused ones answer 409
// naming the state and what is allowed), stock is reserved and released as documented and survives a
// restart, concurrent checkouts of the last items never oversell, and each transition's server-side
// event (purchase, refund) lands in `events` once.
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, testRuntime } from './helpers/runtime.ts';
import { waitForDrain, type Runtime } from '../bin/runtime.ts';
import { shopFor, type Shop } from '../storefront/shop.ts';
import { ORDER_ACTIONS, ORDER_STATES, TRANSITIONS, TransitionError, allowedActions, nextState, type OrderState } from '../storefront/order-state.ts';
import { OrderBook } from '../storefront/orders.store.ts';
import type { ShopEventSink } from '../storefront/shop-events.ts';
import type { ProductInput } from '../storefront/products-csv.ts';

const product = (id: string, stock: number, price = 10): ProductInput => ({ product_id: id, title: `Item ${id}`, description: '', category: 'Test > Things', tags: [], price, currency: 'USD', stock, listed: 1 });

let rt: Runtime & { dir: string };
let shop: Shop;

beforeAll(async () => {
  rt = await testRuntime();
  shop = await shopFor(rt.deps);
  await shop.importProducts([product('MANY', 1000, 12.5), product('LAST', 1, 99), product('FIVE', 5, 20), product('TEN', 10, 5)]);
});
afterAll(async () => {
  await rt?.close();
});

const inject = (opts: InjectOptions) => rt.app!.inject(opts);

let n = 0;
async function member(): Promise<{ cookie: string; id: string }> {
  const res = await inject({ method: 'POST', url: '/shop/api/signup', payload: { email: `m${++n}-${Date.now()}@example.com`, name: `Member ${n}`, password: 'correct horse' } }); // Date.now() only makes the address unique
  expect(res.statusCode).toBe(201);
  const cookie = (res.headers['set-cookie'] as string[]).map((c) => c.split(';')[0]).join('; ');
  return { cookie, id: res.json().customer_id };
}

async function order(m: { cookie: string }, id = 'MANY', quantity = 1) {
  const add = await inject({ method: 'POST', url: '/shop/api/cart/items', headers: { cookie: m.cookie }, payload: { product_id: id, quantity } });
  expect(add.statusCode).toBe(200);
  return inject({ method: 'POST', url: '/shop/api/checkout', headers: { cookie: m.cookie } });
}

/** pay as the customer; everything else as the shop's admin (customers may also cancel: tested below). */
function act(m: { cookie: string }, orderId: string, action: string) {
  return action === 'pay'
    ? inject({ method: 'POST', url: `/shop/api/orders/${orderId}/${action}`, headers: { cookie: m.cookie } })
    : inject({ method: 'POST', url: `/v1/shop/orders/${orderId}/${action}`, headers: { authorization: `Bearer ${ADMIN}` }, payload: { reason: 'test' } });
}

const PATH_TO: Record<OrderState, string[]> = {
  created: [],
  paid: ['pay'],
  shipped: ['pay', 'ship'],
  delivered: ['pay', 'ship', 'deliver'],
  cancelled: ['cancel'],
  refunded: ['pay', 'refund'],
};

const stockOf = (id: string) => shop.catalogue.get(id)!.stock;

describe('order state machine (pure)', () => {
  it('allows exactly the transitions of the table and names state and allowed actions otherwise', () => {
    let allowed = 0;
    let refused = 0;
    for (const s of ORDER_STATES) {
      for (const a of ORDER_ACTIONS) {
        const want = TRANSITIONS[s][a];
        if (want) {
          expect(nextState('o1', s, a)).toBe(want);
          allowed++;
        } else {
          const err = (() => {
            try {
              nextState('o1', s, a);
            } catch (e) {
              return e;
            }
            return null;
          })();
          expect(err).toBeInstanceOf(TransitionError);
          expect((err as TransitionError).state).toBe(s);
          expect((err as TransitionError).allowed).toEqual(allowedActions(s));
          expect((err as Error).message).toContain(`is ${s}`);
          refused++;
        }
      }
    }
    // created: pay, cancel; paid: ship, cancel, refund; shipped: deliver, refund; delivered: refund.
    expect({ allowed, refused }).toEqual({ allowed: 8, refused: 22 });
  });
});

describe('orders through the shop endpoints', () => {
  it('applies every allowed transition and refuses every other with 409, state and allowed actions', async () => {
    const m = await member();
    const before = stockOf('MANY');
    let held = 0;
    const results: string[] = [];
    for (const state of ORDER_STATES) {
      for (const action of ORDER_ACTIONS) {
        const created = await order(m);
        expect(created.statusCode).toBe(201);
        const id = created.json().order_id as string;
        for (const step of PATH_TO[state]) expect((await act(m, id, step)).statusCode).toBe(200);
        expect(shop.orders.get(id)!.state).toBe(state);
        const res = await act(m, id, action);
        const want = TRANSITIONS[state][action];
        if (want) {
          expect(res.statusCode, `${state} --${action}-->`).toBe(200);
          expect(res.json().state).toBe(want);
          expect(res.json().allowed_actions).toEqual(allowedActions(want));
          results.push(`${state}-${action}->${want}`);
        } else {
          expect(res.statusCode, `${state} --${action}--> refused`).toBe(409);
          const body = res.json();
          expect(body).toMatchObject({ error: 'invalid_transition', state, action, allowed: allowedActions(state) });
          expect(body.message).toContain(`is ${state}`);
          expect(shop.orders.get(id)!.state).toBe(state); // a refused transition changes nothing
        }
        // Stock stays reserved unless the order was cancelled, or refunded before it shipped.
        const final = shop.orders.get(id)!;
        const history = await shop.orders.history(id);
        const shipped = history.some((h) => h.state === 'shipped');
        if (final.state !== 'cancelled' && !(final.state === 'refunded' && !shipped)) held++;
      }
    }
    expect(results).toEqual([
      'created-pay->paid', 'created-cancel->cancelled',
      'paid-ship->shipped', 'paid-cancel->cancelled', 'paid-refund->refunded',
      'shipped-deliver->delivered', 'shipped-refund->refunded',
      'delivered-refund->refunded',
    ]);
    expect(stockOf('MANY')).toBe(before - held);
  });

  it('lets customers pay and cancel their own orders only, and never ship, deliver or refund', async () => {
    const a = await member();
    const b = await member();
    const id = (await order(a)).json().order_id as string;
    for (const action of ['ship', 'deliver', 'refund']) {
      const res = await inject({ method: 'POST', url: `/shop/api/orders/${id}/${action}`, headers: { cookie: a.cookie } });
      expect(res.statusCode).toBe(403);
    }
    // Someone else's order does not exist for b; without a session there is nobody to ask for.
    expect((await inject({ method: 'POST', url: `/shop/api/orders/${id}/pay`, headers: { cookie: b.cookie } })).statusCode).toBe(404);
    expect((await inject({ method: 'GET', url: `/shop/api/orders/${id}`, headers: { cookie: b.cookie } })).statusCode).toBe(404);
    expect((await inject({ method: 'POST', url: `/shop/api/orders/${id}/pay` })).statusCode).toBe(401);
    // Staff endpoints need the admin key.
    expect((await inject({ method: 'POST', url: `/v1/shop/orders/${id}/ship` })).statusCode).toBe(401);
    expect((await inject({ method: 'POST', url: `/shop/api/orders/${id}/explode`, headers: { cookie: a.cookie } })).statusCode).toBe(400);
    expect((await inject({ method: 'POST', url: `/shop/api/orders/${id}/cancel`, headers: { cookie: a.cookie } })).json().state).toBe('cancelled');
  });

  it('gives stock back when an unpaid order expires', async () => {
    const m = await member();
    const before = stockOf('TEN');
    const id = (await order(m, 'TEN', 3)).json().order_id as string;
    expect(stockOf('TEN')).toBe(before - 3);
    expect(await shop.orders.expireUnpaid(0)).toBeGreaterThanOrEqual(1);
    expect(shop.orders.get(id)!.state).toBe('cancelled');
    expect((await shop.orders.history(id)).at(-1)).toMatchObject({ action: 'cancel', actor: 'system:unpaid-expiry' });
    expect(stockOf('TEN')).toBe(before);
  });

  it('refuses more than is in stock, naming what is left', async () => {
    const m = await member();
    const res = await order(m, 'TEN', 11);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: 'out_of_stock', product_id: 'TEN', available: 10, requested: 11 });
    await inject({ method: 'DELETE', url: '/shop/api/cart/items/TEN', headers: { cookie: m.cookie } });
  });
});

describe('concurrent checkouts', () => {
  it('sells the last item exactly once when two members check out at the same time', async () => {
    const [a, b] = [await member(), await member()];
    for (const m of [a, b]) expect((await inject({ method: 'POST', url: '/shop/api/cart/items', headers: { cookie: m.cookie }, payload: { product_id: 'LAST', quantity: 1 } })).statusCode).toBe(200);
    const results = await Promise.all([a, b].map((m) => inject({ method: 'POST', url: '/shop/api/checkout', headers: { cookie: m.cookie } })));
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409]);
    expect(results.find((r) => r.statusCode === 409)!.json()).toMatchObject({ error: 'out_of_stock', product_id: 'LAST', available: 0 });
    expect(stockOf('LAST')).toBe(0);
    const product = await inject({ method: 'GET', url: '/shop/api/products/LAST' });
    expect(product.json().stock).toBe(0);
  });

  it('sells exactly five of five to twelve simultaneous buyers', async () => {
    const buyers = await Promise.all(Array.from({ length: 12 }, () => member()));
    for (const m of buyers) await inject({ method: 'POST', url: '/shop/api/cart/items', headers: { cookie: m.cookie }, payload: { product_id: 'FIVE', quantity: 1 } });
    const results = await Promise.all(buyers.map((m) => inject({ method: 'POST', url: '/shop/api/checkout', headers: { cookie: m.cookie } })));
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(5);
    expect(results.filter((r) => r.statusCode === 409)).toHaveLength(7);
    expect(stockOf('FIVE')).toBe(0);
  });
});

describe('events and durability', () => {
  it('emits purchase on pay and refund on refund and on cancel after payment, once each', async () => {
    const m = await member();
    const paidOnly = (await order(m, 'MANY', 2)).json().order_id as string;
    const cancelledUnpaid = (await order(m)).json().order_id as string;
    const cancelledPaid = (await order(m)).json().order_id as string;
    const refunded = (await order(m)).json().order_id as string;
    for (const id of [paidOnly, cancelledPaid, refunded]) expect((await act(m, id, 'pay')).statusCode).toBe(200);
    expect((await act(m, cancelledUnpaid, 'cancel')).statusCode).toBe(200);
    expect((await inject({ method: 'POST', url: `/shop/api/orders/${cancelledPaid}/cancel`, headers: { cookie: m.cookie } })).statusCode).toBe(200);
    expect((await act(m, refunded, 'ship')).statusCode).toBe(200);
    expect((await act(m, refunded, 'refund')).statusCode).toBe(200);
    expect(await waitForDrain(rt, 30_000)).toBe(true);
    const rows = await rt.deps.ch.rows<{ order_id: string; type: string; n: string; amount: number; customer_id: string }>(
      `SELECT order_id, type, count() AS n, sum(amount_base) AS amount, any(customer_id) AS customer_id FROM events FINAL
       WHERE order_id IN {ids:Array(String)} GROUP BY order_id, type ORDER BY order_id, type`,
      { ids: [paidOnly, cancelledUnpaid, cancelledPaid, refunded] },
    );
    const got = Object.fromEntries(rows.map((r) => [`${r.order_id}/${r.type}`, { n: Number(r.n), amount: r.amount, customer: r.customer_id }]));
    expect(got).toEqual({
      [`${paidOnly}/purchase`]: { n: 1, amount: 25, customer: m.id },
      [`${cancelledPaid}/purchase`]: { n: 1, amount: 12.5, customer: m.id },
      [`${cancelledPaid}/refund`]: { n: 1, amount: 12.5, customer: m.id },
      [`${refunded}/purchase`]: { n: 1, amount: 12.5, customer: m.id },
      [`${refunded}/refund`]: { n: 1, amount: 12.5, customer: m.id },
    });
    const items = await rt.deps.ch.rows<{ product_id: string; quantity: number }>('SELECT product_id, quantity FROM order_items FINAL WHERE order_id = {id:String}', { id: paidOnly });
    expect(items).toEqual([{ product_id: 'MANY', quantity: 2 }]);
  });

  it('re-sends an event that never reached the log (crash between transition and send)', async () => {
    const m = await member();
    const failing: ShopEventSink = { kind: 'client', send: async () => { throw new Error('collector down'); }, close: async () => {} };
    const broken = new OrderBook(rt.deps.ch, shop.catalogue, shop.money, failing, rt.deps.log);
    const o = await broken.checkout({ customerId: m.id, anonymousId: 'anon-x', lines: [{ product_id: 'MANY', quantity: 1 }], displayCurrency: 'USD' });
    await broken.transition(o.order_id, 'pay', { kind: 'customer', customerId: m.id });
    expect(broken.stats.eventsSent).toBe(0);
    expect(await waitForDrain(rt, 30_000)).toBe(true);
    const count = async () => Number((await rt.deps.ch.rows<{ n: string }>("SELECT count() AS n FROM events WHERE order_id = {id:String} AND type = 'purchase'", { id: o.order_id }))[0]!.n);
    expect(await count()).toBe(0);
    // A restarted order book finds the paid order without its purchase event and sends it.
    const restarted = await OrderBook.load(rt.deps.ch, shop.catalogue, shop.money, shop.sink, rt.deps.log);
    expect(await restarted.reconcile()).toBeGreaterThanOrEqual(1);
    expect(await waitForDrain(rt, 30_000)).toBe(true);
    expect(await count()).toBe(1);
    expect(await restarted.reconcile()).toBe(0); // nothing left to send
  });

  it('keeps orders and stock across a restart', async () => {
    const before = { MANY: stockOf('MANY'), LAST: stockOf('LAST'), FIVE: stockOf('FIVE'), TEN: stockOf('TEN') };
    const orders = shop.orders.list({ limit: 1000 }).map((o) => [o.order_id, o.state] as const);
    await rt.close();
    rt = await testRuntime({ CVM_DATA_DIR: rt.dir });
    shop = await shopFor(rt.deps);
    expect({ MANY: stockOf('MANY'), LAST: stockOf('LAST'), FIVE: stockOf('FIVE'), TEN: stockOf('TEN') }).toEqual(before);
    for (const [id, state] of orders) expect(shop.orders.get(id)?.state).toBe(state);
    // And a re-import sets stock afresh: later reservations count against the new figure.
    await shop.importProducts([product('LAST', 3, 99)]);
    expect(stockOf('LAST')).toBe(3);
  });
});
