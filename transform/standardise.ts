// One log record → analysis-ready rows, or a reject with the field and the reason.
// Pure: no I/O, so every rule is tested with concrete inputs and outputs. Hot path of the transformer:
// the lookups that repeat across events (locale, URL, country name, user agent) are cached.
import { parseTime, validateEvent, type CollectedRecord, type CvmEvent, type EventProblem } from '../ingest/contract.ts';
import { normaliseLocale, toCountryCode } from './country.ts';
import type { FxTable } from './fx.ts';
import { parseUserAgent } from './user-agent.ts';

export const TEXT_CAP = 2048;
const PROPS_CAP = 16_384;

/** Where a row came from in the event log; the high-water marks are built from it. */
export interface LogPosition { log_topic: string; log_partition: number; log_offset: number }
const NO_POSITION: LogPosition = { log_topic: '', log_partition: 0, log_offset: 0 };

export interface EventRow extends LogPosition {
  event_id: string; type: string; ts: string; received_at: string; site: string; anonymous_id: string; customer_id: string;
  session_id: string; product_id: string; category: string; quantity: number; price: number; currency: string; amount: number;
  amount_base: number; order_id: string; search_query: string; search_results: number; rating: number; country: string;
  locale: string; device: string; browser: string; os: string; is_bot: number; url: string; path: string; referrer: string;
  utm_source: string; utm_medium: string; utm_campaign: string; utm_term: string; utm_content: string; props: string;
}

export interface OrderItemRow extends LogPosition {
  order_id: string; event_id: string; ts: string; site: string; customer_id: string; anonymous_id: string; product_id: string;
  category: string; quantity: number; price: number; currency: string; price_base: number; country: string;
}

/** unverified = 1: a browser identify without the shop's signature (counts only for customers the shop never vouched for). */
export interface IdentityRow { anonymous_id: string; customer_id: string; site: string; source: string; first_seen: string; unverified: number }
/**
 * One identify's contribution to the profile, merged at read (customer_profiles): the traits it names
 * (null = remove that trait), consent 0 withdrawn / 1 given / 2 not stated.
 */
export interface CustomerRow {
  customer_id: string; site: string; country: string; traits: string; consent: number; first_seen: string; updated_at: string; event_id: string; unverified: number;
}

export const CONSENT_NOT_STATED = 2;

export type StandardiseResult =
  | { ok: true; event: EventRow; tsMs: number; items: OrderItemRow[]; identity: IdentityRow | null; customer: CustomerRow | null }
  | { ok: false; problem: EventProblem; eventId: string; site: string; receivedAt: number };

export interface StandardiseContext {
  fx: FxTable;
  baseCurrency: string;
  /** Encrypts PII trait values before they are stored; identity when no key is configured. */
  protectTraits?: (traits: Record<string, unknown>) => Record<string, unknown>;
  /** The customer's known country (from `customers`), used when the event itself names none. */
  customerCountry?: (customerId: string) => string | undefined;
  /** CVM_IDENTITY_VERIFICATION: 'required' (default) stores an unsigned browser identify as an event only;
   *  'provisional' (for a shop still rolling out signing) lets it count for customers the shop never vouched for. */
  identityVerification?: 'required' | 'provisional';
}

// Control characters (C0, DEL, C1) have no place in ids or display text.
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/g;
const cap = (s: unknown, n = TEXT_CAP): string => (typeof s === 'string' ? (s.length > n ? s.slice(0, n) : s) : '');
/** Ids: trimmed, control characters removed, at most 128 characters. Case is kept: shops' ids are case-sensitive. */
export const normaliseId = (s: unknown): string => (typeof s === 'string' ? s.replace(CONTROL_RE, '').trim().slice(0, 128) : '');

/** Trimmed, single-spaced, with ' > ' between levels whatever separator the shop used. */
export function normaliseCategory(c: unknown): string {
  if (typeof c !== 'string') return '';
  let hit = categoryCache.get(c);
  if (hit === undefined) {
    hit = c
      .replace(CONTROL_RE, ' ')
      .split(/\s*(?:>|\/|\|)\s*/)
      .map((p) => p.replace(/\s+/g, ' ').trim())
      .filter(Boolean)
      .join(' > ')
      .slice(0, 256);
    if (categoryCache.size >= 10_000) categoryCache.clear();
    categoryCache.set(c, hit);
  }
  return hit;
}
const categoryCache = new Map<string, string>();

type Utm = Record<'utm_source' | 'utm_medium' | 'utm_campaign' | 'utm_term' | 'utm_content', string>;
const UTM_KEYS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'] as const;

const urlCache = new Map<string, { path: string; utm: Utm }>();
/** URL → path and utm_* parameters. Relative URLs are fine; unparseable ones give nothing. */
export function splitUrl(url: string): { path: string; utm: Utm } {
  const hit = urlCache.get(url);
  if (hit) return hit;
  const utm: Utm = { utm_source: '', utm_medium: '', utm_campaign: '', utm_term: '', utm_content: '' };
  let out = { path: '', utm };
  if (url) {
    try {
      const u = new URL(url, 'http://unknown.invalid');
      if (u.search) for (const k of UTM_KEYS) utm[k] = cap(u.searchParams.get(k) ?? '', 256).trim();
      out = { path: cap(u.pathname, 1024), utm };
    } catch {
      // not a URL: no path, no campaign
    }
  }
  if (urlCache.size >= 50_000) urlCache.clear();
  urlCache.set(url, out);
  return out;
}

const localeCache = new Map<string, { locale: string; region: string }>();
function locale(input: string): { locale: string; region: string } {
  let hit = localeCache.get(input);
  if (!hit) {
    hit = normaliseLocale(input);
    if (localeCache.size >= 5_000) localeCache.clear();
    localeCache.set(input, hit);
  }
  return hit;
}

const countryCache = new Map<string, string>();
function country(input: string): string {
  if (!input) return '';
  let hit = countryCache.get(input);
  if (hit === undefined) {
    hit = toCountryCode(input);
    if (countryCache.size >= 5_000) countryCache.clear();
    countryCache.set(input, hit);
  }
  return hit;
}

/** Client clock skew: the client's ts shifted by how far its clock was off when it sent the batch. */
export function correctedTime(event: Pick<CvmEvent, 'ts' | 'sent_at'>, receivedAt: number): number {
  const ts = timeMs(event.ts);
  if (event.sent_at === undefined) return ts;
  const skew = receivedAt - timeMs(event.sent_at);
  return ts + skew;
}

const ISO_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const digit = (s: string, i: number) => s.charCodeAt(i) - 48;
/**
 * parseTime with a fast path for the form browsers and servers send ('2024-03-02T11:59:00.000Z'),
 * read digit by digit; anything else (offsets, fewer digits, impossible dates) goes to Date.parse.
 */
export function timeMs(v: string | number): number {
  if (typeof v === 'number') return v;
  if (ISO_UTC_MS.test(v)) {
    const y = digit(v, 0) * 1000 + digit(v, 1) * 100 + digit(v, 2) * 10 + digit(v, 3);
    const mo = digit(v, 5) * 10 + digit(v, 6);
    const d = digit(v, 8) * 10 + digit(v, 9);
    const h = digit(v, 11) * 10 + digit(v, 12);
    const mi = digit(v, 14) * 10 + digit(v, 15);
    const sec = digit(v, 17) * 10 + digit(v, 18);
    const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
    if (mo >= 1 && mo <= 12 && d >= 1 && d <= (mo === 2 && !leap ? 28 : DAYS_IN_MONTH[mo - 1]!) && h <= 23 && mi <= 59 && sec <= 59) {
      return Date.UTC(y, mo - 1, d, h, mi, sec, digit(v, 20) * 100 + digit(v, 21) * 10 + digit(v, 22));
    }
  }
  return parseTime(v);
}

// chTime for the hot path: the same text ('YYYY-MM-DD hh:mm:ss.mmm', UTC) built from integer arithmetic
// instead of toISOString and regex replaces, and the last value remembered (every event of a collector
// batch shares its receive time).
let lastMs = NaN;
let lastText = '';
const pad2 = (n: number) => (n < 10 ? '0' + n : String(n));
const pad3 = (n: number) => (n < 10 ? '00' + n : n < 100 ? '0' + n : String(n));
export function chTime(ms: number): string {
  if (ms === lastMs) return lastText;
  if (!Number.isFinite(ms) || ms < 0 || ms >= 253402300800000) return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
  const t = Math.floor(ms);
  const days = Math.floor(t / 86_400_000);
  let rem = t - days * 86_400_000;
  const hh = Math.floor(rem / 3_600_000);
  rem -= hh * 3_600_000;
  const mi = Math.floor(rem / 60_000);
  rem -= mi * 60_000;
  const ss = Math.floor(rem / 1000);
  const mss = rem - ss * 1000;
  // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const text = `${y}-${pad2(m)}-${pad2(d)} ${pad2(hh)}:${pad2(mi)}:${pad2(ss)}.${pad3(mss)}`;
  lastMs = ms;
  lastText = text;
  return text;
}

function reject(problem: EventProblem, rec: Partial<CollectedRecord>, eventId = ''): StandardiseResult {
  return { ok: false, problem, eventId, site: typeof rec.site === 'string' ? rec.site : '', receivedAt: typeof rec.received_at === 'number' ? rec.received_at : Date.now() };
}

export function standardise(rec: CollectedRecord, ctx: StandardiseContext, at: LogPosition = NO_POSITION): StandardiseResult {
  const rawId = (rec.event as { event_id?: unknown } | null)?.event_id;
  const eventId = typeof rawId === 'string' ? rawId.slice(0, 64) : '';
  if (rec.reject) return reject(rec.reject, rec, eventId);
  const checked = validateEvent(rec.event, { now: rec.received_at });
  if (!checked.ok) return reject(checked.problem, rec, eventId);
  const e = checked.event;
  const p = (e.properties ?? {}) as Record<string, unknown>;
  const c = (e.context ?? {}) as Record<string, unknown>;
  // Skew-corrected, and never later than the server received it.
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
  const customerId = normaliseId(e.customer_id);
  const anonymousId = normaliseId(e.anonymous_id);
  const loc = locale(cap(c.locale, 35));
  // The event's own country, else the one in its traits, else the customer's known country, else the
  // locale's region (weakest: plenty of people browse in en-US outside the US).
  const countryCode =
    country(cap(c.country, 64).trim()) ||
    country(cap(traits.country, 64).trim()) ||
    (customerId && ctx.customerCountry ? ctx.customerCountry(customerId) ?? '' : '') ||
    loc.region;
  const ua = parseUserAgent(cap(c.user_agent, 1024) || rec.user_agent);
  const url = cap(c.url);
  const { path, utm } = splitUrl(url);
  const time = chTime(tsMs);

  const event: EventRow = {
    event_id: e.event_id.toLowerCase(),
    type: e.type,
    ts: time,
    received_at: chTime(rec.received_at),
    site: rec.site,
    anonymous_id: anonymousId,
    customer_id: customerId,
    session_id: normaliseId(e.session_id),
    product_id: normaliseId(p.product_id),
    category: normaliseCategory(p.category),
    quantity,
    price,
    currency,
    amount,
    amount_base: round6(amount * rate),
    order_id: normaliseId(p.order_id),
    search_query: e.type === 'search' ? cap(p.query, 512).replace(/\s+/g, ' ').trim().toLowerCase() : '',
    search_results: e.type === 'search' && typeof p.results === 'number' ? p.results : -1,
    rating: e.type === 'review' && typeof p.rating === 'number' ? p.rating : 0,
    country: countryCode,
    locale: loc.locale,
    device: ua.device,
    browser: ua.browser,
    os: ua.os,
    is_bot: ua.isBot ? 1 : 0,
    url,
    path,
    referrer: cap(c.referrer),
    // Campaign from the landing URL; the snippet also copies it into context when the URL lost it.
    utm_source: utm.utm_source || cap(c.utm_source, 256).trim(),
    utm_medium: utm.utm_medium || cap(c.utm_medium, 256).trim(),
    utm_campaign: utm.utm_campaign || cap(c.utm_campaign, 256).trim(),
    utm_term: utm.utm_term || cap(c.utm_term, 256).trim(),
    utm_content: utm.utm_content || cap(c.utm_content, 256).trim(),
    props: cap(JSON.stringify(p), PROPS_CAP),
    log_topic: at.log_topic,
    log_partition: at.log_partition,
    log_offset: at.log_offset,
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
          product_id: normaliseId(it.product_id),
          category: normaliseCategory(it.category),
          quantity: it.quantity,
          price: it.price,
          currency,
          price_base: round6(it.price * rate),
          country: countryCode,
          log_topic: at.log_topic,
          log_partition: at.log_partition,
          log_offset: at.log_offset,
        }))
      : [];

  // The collector marks browser identifies that lack the shop's signature; records cvm wrote itself carry no
  // mark. A replayed dead letter lost its mark with the record, so it only counts where unverified ones do.
  const unverified = rec.identity === 'unverified' || rec.source === 'replay' ? 1 : 0;
  // Required (the default): an unsigned browser identify links nothing and changes no profile at all.
  const countsForProfile = !(rec.identity === 'unverified' && ctx.identityVerification !== 'provisional');
  const identity: IdentityRow | null =
    countsForProfile && (e.type === 'identify' || e.type === 'alias') && anonymousId && customerId
      ? { anonymous_id: anonymousId, customer_id: customerId, site: rec.site, source: e.type, first_seen: time, unverified }
      : null;

  let customer: CustomerRow | null = null;
  if (countsForProfile && e.type === 'identify' && customerId) {
    const protectedTraits = ctx.protectTraits ? ctx.protectTraits(traits) : traits;
    customer = {
      customer_id: customerId,
      site: rec.site,
      country: countryCode,
      traits: cap(JSON.stringify(protectedTraits), PROPS_CAP),
      consent: traits.consent === false ? 0 : traits.consent === true ? 1 : CONSENT_NOT_STATED,
      first_seen: typeof traits.signup_date === 'string' && !Number.isNaN(Date.parse(traits.signup_date)) ? chTime(Date.parse(traits.signup_date)) : time,
      updated_at: time,
      event_id: event.event_id,
      unverified,
    };
  }
  if (unverified) event.props = cap(JSON.stringify({ ...p, $identity: 'unverified' }), PROPS_CAP);
  return { ok: true, event, tsMs, items, identity, customer };
}

function round6(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
