// Step 3: a valid event → its events row, in one spelling: money (currency, base value), place (country,
// locale), device (user agent), page (URL, path, campaign), ids and text. The order lines of a purchase
// come out too; the rows step turns them into order_items rows.
import { chTime } from '../../lib/clickhouse.ts';
import { cap, normaliseCategory, normaliseId, normaliseQuery, PROPS_CAP } from '../fields/text.ts';
import { inBase, money, type MoneyContext } from '../fields/money.ts';
import { place } from '../fields/place.ts';
import { page } from '../fields/url.ts';
import { ok, type PipelineResult } from '../pipeline-result.ts';
import type { EventRow } from '../table-rows.ts';
import { parseUserAgent } from '../user-agent.ts';
import type { ValidEvent } from './validate.ts';

export interface StandardiseContext extends MoneyContext {
  /** The customer's known country (from `customers`), used when the event itself names none. */
  customerCountry?: (customerId: string) => string | undefined;
}

export interface OrderLine { product_id: string; category: string; quantity: number; price: number; price_base: number }

export interface StandardEvent extends ValidEvent {
  row: EventRow;
  /** A purchase's lines (empty for every other type). */
  lines: OrderLine[];
  /** Event time as the rows carry it. */
  time: string;
  traits: Record<string, unknown>;
  properties: Record<string, unknown>;
}

type Obj = Record<string, unknown>;

export function standardiseStep(ctx: StandardiseContext): (input: ValidEvent) => PipelineResult<StandardEvent> {
  // Every event of a collector batch shares its receive time: format it once.
  let receivedMs = NaN;
  let receivedText = '';
  const receivedAt = (ms: number) => {
    if (ms !== receivedMs) {
      receivedText = chTime(ms);
      receivedMs = ms;
    }
    return receivedText;
  };

  return (input) => {
    const { event: e, record: rec, tsMs, at } = input;
    const p = (e.properties ?? {}) as Obj;
    const c = (e.context ?? {}) as Obj;
    const m = money(e.type, p, tsMs, ctx);
    if (m.kind !== 'ok') return m;
    const { price, quantity, amount, currency, rate } = m.value;
    const traits = (e.traits ?? {}) as Obj;
    const customerId = normaliseId(e.customer_id);
    const where = place(c, traits, customerId, ctx.customerCountry);
    const ua = parseUserAgent(cap(c.user_agent, 1024) || rec.user_agent);
    const pg = page(c);
    const time = chTime(tsMs);
    const row: EventRow = {
      event_id: e.event_id.toLowerCase(),
      type: e.type,
      ts: time,
      received_at: receivedAt(rec.received_at),
      site: rec.site,
      anonymous_id: normaliseId(e.anonymous_id),
      customer_id: customerId,
      session_id: normaliseId(e.session_id),
      product_id: normaliseId(p.product_id),
      category: normaliseCategory(p.category),
      quantity,
      price,
      currency,
      amount,
      amount_base: inBase(amount, rate),
      order_id: normaliseId(p.order_id),
      search_query: e.type === 'search' ? normaliseQuery(p.query) : '',
      search_results: e.type === 'search' && typeof p.results === 'number' ? p.results : -1,
      rating: e.type === 'review' && typeof p.rating === 'number' ? p.rating : 0,
      country: where.country,
      locale: where.locale,
      device: ua.device,
      browser: ua.browser,
      os: ua.os,
      is_bot: ua.isBot ? 1 : 0,
      url: pg.url,
      path: pg.path,
      referrer: pg.referrer,
      utm_source: pg.utm_source,
      utm_medium: pg.utm_medium,
      utm_campaign: pg.utm_campaign,
      utm_term: pg.utm_term,
      utm_content: pg.utm_content,
      props: cap(JSON.stringify(p), PROPS_CAP),
      log_topic: at.log_topic,
      log_partition: at.log_partition,
      log_offset: at.log_offset,
    };
    const lines: OrderLine[] =
      e.type === 'purchase'
        ? (p.items as Array<{ product_id: string; quantity: number; price: number; category?: string }>).map((it) => ({
            product_id: normaliseId(it.product_id),
            category: normaliseCategory(it.category),
            quantity: it.quantity,
            price: it.price,
            price_base: inBase(it.price, rate),
          }))
        : [];
    return ok({ record: rec, at, event: e, tsMs, row, lines, time, traits, properties: p });
  };
}
