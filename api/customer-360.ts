// Everything the API shows about one customer. Scores and recommendations come from memory; profile,
// orders and sessions from ClickHouse, read through the one identity resolution (identity_resolution,
// events_resolved, sessions: sql/views), so the 360 counts what RFM, segments and dashboards count, merges
// and links included. Three round trips: who the customer is, their profile and events, then the sessions,
// refunds and order lines of those events.
// What a role sees: storefront gets scores and recommendations only; analysts get the profile with
// PII masked; admins get it decrypted.
import type { ClickHouse } from '../lib/clickhouse.ts';
import { maskTraits, type PiiCipher } from '../lib/crypto.ts';
import type { Logger } from '../lib/logger.ts';
import { sql } from '../lib/sql.ts';
import type { Role } from './auth.ts';
import type { ApiDeps } from './services.ts';
import type { ScoreCache } from './score-cache.ts';

export const ORDERS_SHOWN = 20;
export const SESSIONS_SHOWN = 10;
export const RECOMMENDATIONS_SHOWN = 10;

type Row = Record<string, unknown>;

export function scoresOf(scores: ScoreCache, id: string) {
  const rfm = scores.get('rfm', id);
  const clv = scores.get('clv', id);
  const churn = scores.get('churn', id);
  return {
    rfm: rfm
      ? {
          run_id: scores.runId('rfm'), recency_days: rfm.recency_days, frequency: rfm.frequency, monetary: rfm.monetary,
          r: rfm.r, f: rfm.f, m: rfm.m, score: `${rfm.r}${rfm.f}${rfm.m}`, segment: rfm.segment,
        }
      : null,
    clv: clv ? { run_id: scores.runId('clv'), ...without(clv, 'customer_id') } : null,
    churn: churn ? { run_id: scores.runId('churn'), ...without(churn, 'customer_id'), top_reasons: Array.isArray(churn.reasons) ? churn.reasons.slice(0, 3) : [] } : null,
  };
}

function without(row: Row, ...keys: string[]): Row {
  const out = { ...row };
  for (const k of keys) delete out[k];
  return out;
}

/** Why the 360 has no recommendations: the service that failed (its error is in the log, not in the answer). */
export interface RecommendationsError { service: 'recs'; status: 'failed' }
export type Recommendations = { items: unknown[]; error: null } | { items: null; error: RecommendationsError };

export async function recommendationsFor(deps: ApiDeps, id: string): Promise<Recommendations> {
  const recs = deps.services.recs;
  try {
    return { items: recs.recommend({ customerId: id, limit: RECOMMENDATIONS_SHOWN }).items, error: null };
  } catch (err) {
    deps.log.error({ err, service: 'recs', customer_id: id }, 'recommendations for the customer view failed');
    return { items: null, error: { service: 'recs', status: 'failed' } };
  }
}

/** How the customer stands in the identity resolution. */
export interface Resolution {
  /** The customer this id was merged into (its history shows there), or null. */
  merged_into: string | null;
  /** The customer and the customer ids merged into it. */
  customer_ids: string[];
  /** Anonymous ids whose link resolves to the customer, earliest first. */
  identities: Array<{ site: string; anonymous_id: string; source: string; first_seen: string }>;
}

interface ResolutionRow { kind: 'customer' | 'anonymous'; site: string; id: string; customer_id: string; source: string; first_seen: string | null }

export async function resolutionOf(ch: ClickHouse, id: string): Promise<Resolution> {
  const rows = await ch.rows<ResolutionRow>(sql('api/customer-identities'), { id });
  const mergedAway = rows.find((r) => r.kind === 'customer' && r.id === id);
  return {
    merged_into: mergedAway ? mergedAway.customer_id : null,
    customer_ids: [id, ...rows.filter((r) => r.kind === 'customer' && r.customer_id === id).map((r) => r.id)],
    identities: rows
      .filter((r) => r.kind === 'anonymous')
      .map((r) => ({ site: r.site, anonymous_id: r.id, source: r.source, first_seen: r.first_seen ?? '' })),
  };
}

/** Most recent events of the customer read for activity and orders. */
export const MAX_EVENTS_READ = 5000;

interface EventLite { event_id: string; type: string; ts: string; session_id: string; site: string; order_id: string; currency: string; amount: number; amount_base: number }
interface RefundLite { event_id: string; order_id: string; amount: number; amount_base: number }
interface ItemLite { order_id: string; product_id: string; category: string; quantity: number; price: number }

/** The profile and history part of the 360, or null when ClickHouse knows nothing of the customer. */
export async function customerRecords(deps: ApiDeps, id: string, role: Role, pii: PiiCipher): Promise<Row | null> {
  const who = await resolutionOf(deps.ch, id);
  const parts = await deps.ch.rows<{ kind: string; payload: string }>(sql('api/customer-360'), {
    id, customer_ids: who.customer_ids, anon_ids: who.identities.map((i) => i.anonymous_id), max_events: MAX_EVENTS_READ,
  });
  let profile: Row | null = null;
  const events = new Map<string, EventLite>(); // by event_id: a retried event counts once
  for (const p of parts) {
    if (p.kind === 'profile') profile = JSON.parse(p.payload) as Row;
    else if (p.kind === 'event') {
      const e = JSON.parse(p.payload) as EventLite;
      events.set(e.event_id, e);
    }
  }
  if (!profile && events.size === 0 && who.identities.length === 0 && !who.merged_into) return null;
  const all = [...events.values()];
  const times = all.map((e) => e.ts).sort();
  const activity = all.length
    ? { events: all.length, events_capped: all.length >= MAX_EVENTS_READ, first_event_at: times[0], last_event_at: times[times.length - 1] }
    : null;
  const history = await sessionsAndOrderDetails(deps.ch, id, all);
  return {
    profile: profile ? shapeProfile(profile, role, pii, { log: deps.log, customerId: id }) : null,
    merged_into: who.merged_into,
    identities: who.identities,
    activity,
    orders: foldOrders(all, history.refunds, history.items).slice(0, ORDERS_SHOWN),
    sessions: history.sessions,
  };
}

/** The sessions view's sessions of the customer, and the refunds and lines of their orders. */
async function sessionsAndOrderDetails(ch: ClickHouse, id: string, events: EventLite[]): Promise<{ sessions: Row[]; refunds: RefundLite[]; items: ItemLite[] }> {
  const unique = (pairs: Array<[string, string]>) => [...new Map(pairs.map((p) => [p.join('\u0000'), p])).values()];
  const purchases = events.filter((e) => e.type === 'purchase' && e.order_id);
  const sessions = unique(events.filter((e) => e.session_id).map((e) => [e.site, e.session_id]));
  const orders = unique(purchases.map((e) => [e.site, e.order_id]));
  if (sessions.length === 0 && orders.length === 0) return { sessions: [], refunds: [], items: [] };
  const parts = await ch.rows<{ kind: string; payload: string }>(sql('api/customer-360-orders-sessions'), {
    id,
    session_sites: sessions.map((s) => s[0]), session_ids: sessions.map((s) => s[1]),
    order_sites: orders.map((o) => o[0]), order_ids: orders.map((o) => o[1]),
    purchases: purchases.map((e) => e.event_id), sessions_shown: SESSIONS_SHOWN,
  });
  const found: Row[] = [];
  const refunds = new Map<string, RefundLite>(); // by event_id: a retried refund counts once
  const items: ItemLite[] = [];
  for (const p of parts) {
    if (p.kind === 'session') found.push(JSON.parse(p.payload) as Row);
    else if (p.kind === 'refund') {
      const r = JSON.parse(p.payload) as RefundLite;
      refunds.set(r.event_id, r);
    } else if (p.kind === 'item') items.push(JSON.parse(p.payload) as ItemLite);
  }
  return { sessions: found, refunds: [...refunds.values()], items };
}

/** Orders, newest first: purchase events by order id, their lines, and what was refunded of each. */
export function foldOrders(events: EventLite[], refunds: RefundLite[], items: ItemLite[]): Row[] {
  const orders = new Map<string, { order_id: string; ts: string; currency: string; total: number; total_base: number; refunded: number; refunded_base: number; items: Row[] }>();
  for (const e of events) {
    if (e.type !== 'purchase' || !e.order_id) continue;
    const o = orders.get(e.order_id);
    if (!o) orders.set(e.order_id, { order_id: e.order_id, ts: e.ts, currency: e.currency, total: e.amount, total_base: e.amount_base, refunded: 0, refunded_base: 0, items: [] });
    else {
      if (e.ts < o.ts) o.ts = e.ts;
      o.total += e.amount;
      o.total_base += e.amount_base;
    }
  }
  for (const r of refunds) {
    const o = orders.get(r.order_id);
    if (!o) continue;
    o.refunded += Number(r.amount);
    o.refunded_base += Number(r.amount_base);
  }
  for (const it of items) {
    // order_items is read with FINAL: a re-delivered line is already folded.
    orders.get(it.order_id)?.items.push({ product_id: it.product_id, category: it.category, quantity: it.quantity, price: it.price });
  }
  return [...orders.values()]
    .sort((a, b) => b.ts.localeCompare(a.ts) || a.order_id.localeCompare(b.order_id))
    .map((o) => ({ ...o, refund_status: o.refunded <= 0 ? 'none' : o.refunded + 1e-9 >= o.total ? 'refunded' : 'partially_refunded' }));
}

/**
 * The profile as the role may see it. Traits that cannot be read are reported, not dropped silently:
 * unreadable JSON as unreadable_fields (and logged with the customer id), traits that do not decrypt as
 * unreadable_traits.
 */
export function shapeProfile(p: Row, role: Role, pii: PiiCipher, ctx: { log: Logger; customerId: string }): Row {
  const traits = parseTraits(p.traits);
  if (traits === null) ctx.log.error({ customer_id: ctx.customerId, field: 'traits' }, 'customer profile traits are not a JSON object; shown as none');
  const { traits: open, unreadable } = pii.revealTraits(traits ?? {});
  return {
    site: p.site, country: p.country, consent: Number(p.consent) === 1, first_seen: p.first_seen, updated_at: p.updated_at,
    traits: role === 'admin' ? open : maskTraits(open),
    pii: role === 'admin' ? 'decrypted' : 'masked',
    ...(unreadable.length ? { unreadable_traits: unreadable } : {}),
    ...(traits === null ? { unreadable_fields: ['traits'] } : {}),
  };
}

function parseTraits(raw: unknown): Row | null {
  if (raw === undefined || raw === null || raw === '') return {};
  try {
    const v: unknown = JSON.parse(String(raw));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Row) : null;
  } catch {
    return null;
  }
}
