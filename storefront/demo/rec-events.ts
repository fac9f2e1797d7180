// Recommendation events for a store loaded with the demo history (which has none): lists shown on
// product pages (next to the viewed product), on the home page and in the cart, some of them clicked,
// and, in an earlier visit before some purchases, a list from which the bought product was clicked. Built from what the store holds and appended through the
// event log like any collected event, so the recommendations dashboard has something to show in tests,
// the benchmark and a demo. Seeded: the same store gives the same events.
import crypto from 'node:crypto';
import { partitionKey, type CollectedRecord } from '../../ingest/contract.ts';
import type { ClickHouse } from '../../lib/clickhouse.ts';
import type { Config } from '../../lib/config.ts';
import type { EventLog } from '../../lib/eventlog/types.ts';
import { Random } from './random.ts';

const UA: Record<string, string> = {
  desktop: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  mobile: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  tablet: 'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
};

interface Seen {
  type?: string;
  anonymous_id: string;
  customer_id: string;
  session_id: string;
  t: number;
  product_id: string;
  category: string;
  country: string;
  locale: string;
  device: string;
}

export interface RecEventOptions {
  seed?: number;
  /** Share of product views that show a "you may also like" list. */
  impressionRate?: number;
  /** Share of shown lists clicked. */
  clickRate?: number;
  /** Share of purchased lines preceded by a click on that product in a list. */
  influencedRate?: number;
}

export async function appendDemoRecEvents(ch: ClickHouse, eventLog: EventLog, config: Config, opts: RecEventOptions = {}): Promise<number> {
  const rnd = new Random(opts.seed ?? 7);
  const impressionRate = opts.impressionRate ?? 0.25;
  const clickRate = opts.clickRate ?? 0.12;
  const influencedRate = opts.influencedRate ?? 0.2;
  const products = await ch.rows<{ product_id: string; category: string }>(`SELECT product_id, any(category) AS category FROM products FINAL WHERE listed = 1 GROUP BY product_id ORDER BY product_id`);
  const byCategory = new Map<string, string[]>();
  for (const p of products) byCategory.set(p.category, [...(byCategory.get(p.category) ?? []), p.product_id]);
  const all = products.map((p) => p.product_id);

  const views = await ch.rows<Seen>(
    `SELECT type, anonymous_id, customer_id, session_id, toFloat64(toUnixTimestamp64Milli(ts)) AS t, product_id, category, country, locale, device
     FROM events FINAL
     WHERE is_bot = 0 AND (type IN ('product_view', 'add_to_cart') OR (type = 'page_view' AND path = '/'))
     ORDER BY ts, event_id`,
  );
  const bought = await ch.rows<Seen>(
    `SELECT oi.anonymous_id AS anonymous_id, oi.customer_id AS customer_id, e.session_id AS session_id, toFloat64(toUnixTimestamp64Milli(oi.ts)) AS t,
            oi.product_id AS product_id, oi.category AS category, e.country AS country, e.locale AS locale, e.device AS device
     FROM order_items AS oi FINAL
     INNER JOIN (SELECT order_id, any(session_id) AS session_id, any(country) AS country, any(locale) AS locale, any(device) AS device
                 FROM events WHERE type = 'purchase' GROUP BY order_id) AS e ON e.order_id = oi.order_id
     ORDER BY oi.ts, oi.order_id, oi.product_id`,
  );

  const out: Array<{ key: string; value: string }> = [];
  const emit = (s: Seen, t: number, type: 'rec_impression' | 'rec_click', properties: Record<string, unknown>) => {
    const event = {
      event_id: crypto.randomUUID(),
      type,
      ts: new Date(t).toISOString(),
      anonymous_id: s.anonymous_id,
      ...(s.customer_id ? { customer_id: s.customer_id } : {}),
      ...(s.session_id ? { session_id: s.session_id } : {}),
      context: { url: s.product_id ? `https://demo-shop.example/products/${s.product_id}` : 'https://demo-shop.example/', locale: s.locale || 'en-US', country: s.country },
      properties,
    };
    const rec: CollectedRecord = { v: 1, site: config.keys.demoSite, received_at: t + 150, source: 'browser', user_agent: UA[s.device] ?? UA.desktop!, event };
    out.push({ key: partitionKey(event), value: JSON.stringify(rec) });
  };
  const listFor = (s: Seen, include?: string): string[] => {
    const pool = (byCategory.get(s.category) ?? []).filter((p) => p !== s.product_id);
    const picks = new Set<string>(include ? [include] : []);
    const from = s.product_id && pool.length >= 4 ? pool : all;
    for (let i = 0; i < 12 && picks.size < 4 && from.length; i++) picks.add(rnd.pick(from));
    return [...picks];
  };

  // Where each kind of page shows a list, and how often its lists get clicked relative to clickRate.
  const placements: Record<string, { placement: string; clicks: number }> = {
    product_view: { placement: 'product_page', clicks: 1 },
    page_view: { placement: 'home', clicks: 0.6 },
    add_to_cart: { placement: 'cart_page', clicks: 0.8 },
  };
  for (const v of views) {
    const where = placements[v.type ?? ''];
    if (!where || !rnd.chance(impressionRate)) continue;
    const ids = listFor(v);
    if (!ids.length) continue;
    const listId = `sim-${where.placement}-${v.product_id}`;
    emit(v, v.t + 2000, 'rec_impression', { list_id: listId, product_ids: ids, placement: where.placement });
    if (rnd.chance(clickRate * where.clicks)) emit(v, v.t + rnd.int(5, 40) * 1000, 'rec_click', { list_id: listId, product_id: rnd.pick(ids), placement: where.placement });
  }
  for (const b of bought) {
    if (!rnd.chance(influencedRate)) continue;
    // An earlier visit of the same person: its own session, hours to days before the purchase.
    const visit = { ...b, session_id: `s_rec_${crypto.randomUUID()}` };
    const placement = rnd.pick(['home', 'product_page', 'cart_page']);
    const at = b.t - rnd.int(1, 72) * 3_600_000;
    const ids = listFor(b, b.product_id);
    emit(visit, at, 'rec_impression', { list_id: `sim-${placement}`, product_ids: ids, placement });
    emit(visit, at + 20_000, 'rec_click', { list_id: `sim-${placement}`, product_id: b.product_id, placement });
  }
  for (let i = 0; i < out.length; i += 5000) await eventLog.append(config.topics.events, out.slice(i, i + 5000));
  return out.length;
}
