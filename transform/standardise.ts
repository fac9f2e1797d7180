// One log record → analysis-ready rows, or a reject with the field and the reason.
// Pure: no I/O, so every rule is tested with concrete inputs and outputs.
import { parseTime, validateEvent, type CollectedRecord, type CvmEvent, type EventProblem } from '../ingest/contract.ts';
import { chTime } from '../lib/clickhouse.ts';
import { normaliseLocale, toCountryCode } from './country.ts';
import type { FxTable } from './fx.ts';
import { parseUserAgent } from './user-agent.ts';

export const TEXT_CAP = 2048;
const PROPS_CAP = 16_384;

export interface EventRow {
  event_id: string; type: string; ts: string; received_at: string; site: string; anonymous_id: string; customer_id: string;
  session_id: string; product_id: string; category: string; quantity: number; price: number; currency: string; amount: number;
  amount_base: number; order_id: string; search_query: string; search_results: number; rating: number; country: string;
  locale: string; device: string; browser: string; os: string; is_bot: number; url: string; path: string; referrer: string;
  utm_source: string; utm_medium: string; utm_campaign: string; utm_term: string; utm_content: string; props: string;
}

export interface OrderItemRow {
  order_id: string; event_id: string; ts: string; site: string; customer_id: string; anonymous_id: string; product_id: string;
  category: string; quantity: number; price: number; currency: string; price_base: number; country: string;
}

export interface IdentityRow { anonymous_id: string; customer_id: string; site: string; source: string; first_seen: string }
export interface CustomerRow { customer_id: string; site: string; country: string; traits: string; consent: number; first_seen: string; updated_at: string }

export type StandardiseResult =
  | { ok: true; event: EventRow; tsMs: number; items: OrderItemRow[]; identity: IdentityRow | null; customer: CustomerRow | null }
  | { ok: false; problem: EventProblem; eventId: string; site: string; receivedAt: number };

export interface StandardiseContext {
  fx: FxTable;
  baseCurrency: string;
  /** Encrypts PII trait values before they are stored; identity when no key is configured. */
  protectTraits?: (traits: Record<string, unknown>) => Record<string, unknown>;
}

const cap = (s: unknown, n = TEXT_CAP): string => (typeof s === 'string' ? s.slice(0, n) : '');
const idOf = (s: unknown): string => cap(s, 128).trim();

/** Trimmed, single-spaced, with ' > ' between levels whatever separator the shop used. */
export function normaliseCategory(c: unknown): string {
  if (typeof c !== 'string') return '';
  return c
    .split(/\s*(?:>|\/|\|)\s*/)
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .filter(Boolean)
    .join(' > ')
    .slice(0, 256);
}

export function splitUrl(url: string): { path: string; utm: Record<'utm_source' | 'utm_medium' | 'utm_campaign' | 'utm_term' | 'utm_content', string> } {
  const utm = { utm_source: '', utm_medium: '', utm_campaign: '', utm_term: '', utm_content: '' };
  if (!url) return { path: '', utm };
  try {
    const u = new URL(url, 'http://unknown.invalid');
    for (const k of Object.keys(utm) as Array<keyof typeof utm>) utm[k] = cap(u.searchParams.get(k) ?? '', 256);
    return { path: cap(u.pathname, 1024), utm };
  } catch {
    return { path: '', utm };
  }
}

/** Client clock skew: the client's ts shifted by how far its clock was off when it sent the batch. */
export function correctedTime(event: Pick<CvmEvent, 'ts' | 'sent_at'>, receivedAt: number): number {
  const ts = parseTime(event.ts);
  if (event.sent_at === undefined) return ts;
  const skew = receivedAt - parseTime(event.sent_at);
  return ts + skew;
}

function reject(problem: EventProblem, rec: Partial<CollectedRecord>, eventId = ''): StandardiseResult {
  return { ok: false, problem, eventId, site: typeof rec.site === 'string' ? rec.site : '', receivedAt: typeof rec.received_at === 'number' ? rec.received_at : Date.now() };
}

export function standardise(rec: CollectedRecord, ctx: StandardiseContext): StandardiseResult {
  const rawId = (rec.event as { event_id?: unknown } | null)?.event_id;
  const eventId = typeof rawId === 'string' ? rawId.slice(0, 64) : '';
  if (rec.reject) return reject(rec.reject, rec, eventId);
  const checked = validateEvent(rec.event, { now: rec.received_at });
  if (!checked.ok) return reject(checked.problem, rec, eventId);
  const e = checked.event;
  const p = (e.properties ?? {}) as Record<string, unknown>;
  const c = (e.context ?? {}) as Record<string, unknown>;
  const tsMs = Math.min(correctedTime(e, rec.received_at), rec.received_at);

  // Money: keep the original amount and currency, add the base-currency value with that day's rate.
  let amount = 0;
  const price = typeof p.price === 'number' ? p.price : 0;
  const quantity = typeof p.quantity === 'number' ? p.quantity : e.type === 'add_to_cart' || e.type === 'remove_from_cart' ? 1 : 0;
  if (e.type === 'purchase') amount = p.total as number;
  else if (e.type === 'refund') amount = p.amount as number;
  else if (e.type === 'add_to_cart' || e.type === 'remove_from_cart') amount = price * quantity;
  else if (e.type === 'checkout_started' && typeof p.value === 'number') amount = p.value;
  const hasMoney = amount > 0 || price > 0 || typeof p.currency === 'string';
  const currency = typeof p.currency === 'string' ? p.currency.toUpperCase() : '';
  let rate = 1;
  if (hasMoney) {
    if (!currency) return reject({ field: 'properties.currency', reason: 'is required with an amount or price' }, rec, eventId);
    const r = ctx.fx.rate(currency, ctx.baseCurrency, tsMs);
    if (r === null) return reject({ field: 'properties.currency', reason: `unknown currency ${currency}: no exchange rate to ${ctx.baseCurrency}` }, rec, eventId);
    rate = r;
  }

  const traits = (e.traits ?? {}) as Record<string, unknown>;
  const { locale, region } = normaliseLocale(cap(c.locale, 35));
  const country = toCountryCode(cap(c.country, 64)) || toCountryCode(cap(traits.country, 64)) || region;
  const ua = parseUserAgent(cap(c.user_agent, 1024) || rec.user_agent);
  const url = cap(c.url);
  const { path, utm } = splitUrl(url);
  const productId = idOf(p.product_id);
  const category = normaliseCategory(p.category);
  const time = chTime(tsMs);
  const customerId = idOf(e.customer_id);
  const anonymousId = idOf(e.anonymous_id);

  const event: EventRow = {
    event_id: e.event_id.toLowerCase(),
    type: e.type,
    ts: time,
    received_at: chTime(rec.received_at),
    site: rec.site,
    anonymous_id: anonymousId,
    customer_id: customerId,
    session_id: idOf(e.session_id),
    product_id: productId,
    category,
    quantity,
    price,
    currency,
    amount,
    amount_base: round6(amount * rate),
    order_id: idOf(p.order_id),
    search_query: e.type === 'search' ? cap(p.query, 512).trim().toLowerCase() : '',
    search_results: e.type === 'search' && typeof p.results === 'number' ? p.results : -1,
    rating: e.type === 'review' && typeof p.rating === 'number' ? p.rating : 0,
    country,
    locale,
    device: ua.device,
    browser: ua.browser,
    os: ua.os,
    is_bot: ua.isBot ? 1 : 0,
    url,
    path,
    referrer: cap(c.referrer),
    ...utm,
    props: JSON.stringify(p).slice(0, PROPS_CAP),
  };

  const items: OrderItemRow[] =
    e.type === 'purchase'
      ? (p.items as Array<{ product_id: string; quantity: number; price: number; category?: string }>).map((it) => ({
          order_id: event.order_id,
          event_id: event.event_id,
          ts: time,
          site: rec.site,
          customer_id: customerId,
          anonymous_id: anonymousId,
          product_id: idOf(it.product_id),
          category: normaliseCategory(it.category),
          quantity: it.quantity,
          price: it.price,
          currency,
          price_base: round6(it.price * rate),
          country,
        }))
      : [];

  const identity: IdentityRow | null =
    (e.type === 'identify' || e.type === 'alias') && anonymousId && customerId
      ? { anonymous_id: anonymousId, customer_id: customerId, site: rec.site, source: e.type, first_seen: time }
      : null;

  let customer: CustomerRow | null = null;
  if (e.type === 'identify' && customerId) {
    const protectedTraits = ctx.protectTraits ? ctx.protectTraits(traits) : traits;
    customer = {
      customer_id: customerId,
      site: rec.site,
      country,
      traits: JSON.stringify(protectedTraits).slice(0, PROPS_CAP),
      consent: traits.consent === false ? 0 : 1,
      first_seen: typeof traits.signup_date === 'string' && !Number.isNaN(Date.parse(traits.signup_date)) ? chTime(Date.parse(traits.signup_date)) : time,
      updated_at: time,
    };
  }
  return { ok: true, event, tsMs, items, identity, customer };
}

function round6(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
