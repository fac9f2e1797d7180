// Everything the API shows about one customer. Scores and recommendations come from memory; profile,
// orders and sessions from two ClickHouse queries (linked anonymous ids, then one UNION ALL that reads
// the profile and the customer's events), folded here.
// What a role sees: storefront gets scores and recommendations only; analysts get the profile with
// PII masked; admins get it decrypted.
import type { ClickHouse } from '../lib/clickhouse.ts';
import { maskTraits, type PiiCipher } from '../lib/crypto.ts';
import { sql } from '../lib/sql.ts';
import type { Role } from './auth.ts';
import type { AppDeps } from './deps.ts';
import type { ScoreCache } from './score-cache.ts';

export const ORDERS_SHOWN = 20;
export const SESSIONS_SHOWN = 10;
export const RECOMMENDATIONS_SHOWN = 10;

type Row = Record<string, unknown>;

interface RecsService {
  recommend(req: { customerId: string; limit: number }): unknown;
}

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

export async function recommendationsFor(deps: AppDeps, id: string): Promise<unknown[] | null> {
  const recs = deps.services.get('recs') as RecsService | undefined;
  if (!recs || typeof recs.recommend !== 'function') return null;
  try {
    const answer = (await recs.recommend({ customerId: id, limit: RECOMMENDATIONS_SHOWN })) as { items?: unknown[] } | unknown[];
    return Array.isArray(answer) ? answer : (answer?.items ?? []);
  } catch (err) {
    deps.log.warn({ err }, 'recommendations for the customer view failed');
    return null;
  }
}

/** Anonymous ids whose latest link (identify / alias) points at this customer and is not deleted. */
export async function linkedAnonymousIds(ch: ClickHouse, id: string): Promise<Row[]> {
  const rows = await ch.rows<{ anonymous_id: string; customer_id: string; source: string; first_seen: string; updated_at: string; deleted: number }>(sql('api/customer-identities'), { id });
  const latest = new Map<string, (typeof rows)[number] & { first: string }>();
  for (const r of rows) {
    const cur = latest.get(r.anonymous_id);
    const first = cur && cur.first < r.first_seen ? cur.first : r.first_seen;
    if (!cur || r.updated_at > cur.updated_at) latest.set(r.anonymous_id, { ...r, first });
    else cur.first = first;
  }
  return [...latest.values()]
    .filter((r) => r.customer_id === id && Number(r.deleted) === 0)
    .sort((a, b) => a.first.localeCompare(b.first))
    .map((r) => ({ anonymous_id: r.anonymous_id, source: r.source, first_seen: r.first }));
}

/** Most recent events of the customer read for orders and sessions. */
export const MAX_EVENTS_READ = 5000;

interface EventLite {
  event_id: string; type: string; ts: string; session_id: string; site: string; order_id: string; currency: string;
  amount: number; amount_base: number; path: string; country: string; device: string; is_bot: number;
}

/** The profile and history part of the 360, or null when ClickHouse knows nothing of the customer. */
export async function customerRecords(deps: AppDeps, id: string, role: Role, pii: PiiCipher): Promise<Row | null> {
  const identities = await linkedAnonymousIds(deps.ch, id);
  const anon = identities.map((r) => String(r.anonymous_id));
  const parts = await deps.ch.rows<{ kind: string; payload: string }>(sql('api/customer-360'), { id, anon, max_events: MAX_EVENTS_READ });
  let profile: Row | null = null;
  const events = new Map<string, EventLite>(); // by event_id: a retried event counts once
  const refunds = new Map<string, Row>();
  const items: Row[] = [];
  for (const p of parts) {
    const v = JSON.parse(p.payload) as Row;
    if (p.kind === 'profile') profile = v;
    else if (p.kind === 'event') events.set(String(v.event_id), v as unknown as EventLite);
    else if (p.kind === 'refund') refunds.set(String(v.event_id), v);
    else if (p.kind === 'item') items.push(v);
  }
  if (!profile && events.size === 0 && identities.length === 0) return null;
  const all = [...events.values()];
  for (const e of all) if (e.type === 'refund' && e.order_id) refunds.set(e.event_id, e as unknown as Row);
  const times = all.map((e) => e.ts).sort();
  const activity = all.length
    ? { events: all.length, events_capped: all.length >= MAX_EVENTS_READ, first_event_at: times[0], last_event_at: times[times.length - 1] }
    : null;
  const human = all.filter((e) => Number(e.is_bot) === 0); // sessions leave bots out, like the sessions view
  return {
    profile: profile ? shapeProfile(profile, role, pii) : null,
    identities,
    activity,
    orders: foldOrders(all, [...refunds.values()], items).slice(0, ORDERS_SHOWN),
    sessions: foldSessions(human).slice(0, SESSIONS_SHOWN),
  };
}

/** Orders, newest first: purchase events by order id, their lines, and what was refunded of each. */
export function foldOrders(events: EventLite[], refunds: Row[], items: Row[]): Row[] {
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
    const o = orders.get(String(r.order_id));
    if (!o) continue;
    o.refunded += Number(r.amount);
    o.refunded_base += Number(r.amount_base);
  }
  for (const it of items) {
    // order_items is read with FINAL: a re-delivered line is already folded.
    orders.get(String(it.order_id))?.items.push({ product_id: it.product_id, category: it.category, quantity: it.quantity, price: it.price });
  }
  return [...orders.values()]
    .sort((a, b) => b.ts.localeCompare(a.ts) || a.order_id.localeCompare(b.order_id))
    .map((o) => ({ ...o, refund_status: o.refunded <= 0 ? 'none' : o.refunded + 1e-9 >= o.total ? 'refunded' : 'partially_refunded' }));
}

/**
 * Sessions, newest first, with the definitions of the sessions view (0012): duration from first to last
 * event, bounced when at most one distinct page, entry and exit page, orders and revenue. Folded from the
 * events already read: the view aggregates every session and re-resolves identities on each read, which
 * costs more than the whole rest of the customer view.
 */
export function foldSessions(events: EventLite[]): Row[] {
  const sessions = new Map<string, EventLite[]>();
  for (const e of events) {
    if (!e.session_id) continue;
    const list = sessions.get(e.session_id);
    if (list) list.push(e);
    else sessions.set(e.session_id, [e]);
  }
  const out: Row[] = [];
  for (const [session_id, list] of sessions) {
    list.sort((a, b) => a.ts.localeCompare(b.ts));
    const first = list[0]!;
    const last = list[list.length - 1]!;
    const withPath = list.filter((e) => e.path);
    const pages = new Set(withPath.map((e) => e.path)).size;
    const purchases = list.filter((e) => e.type === 'purchase');
    out.push({
      session_id,
      site: first.site,
      started_at: first.ts,
      ended_at: last.ts,
      duration_s: (Date.parse(last.ts + 'Z') - Date.parse(first.ts + 'Z')) / 1000,
      page_views: list.filter((e) => e.type === 'page_view').length,
      events: list.length,
      pages,
      bounced: pages <= 1,
      entry_path: withPath[0]?.path ?? '',
      exit_path: withPath[withPath.length - 1]?.path ?? '',
      converted: purchases.length > 0,
      orders: purchases.length,
      revenue_base: purchases.reduce((n, e) => n + e.amount_base, 0),
      country: list.find((e) => e.country)?.country ?? '',
      device: list.find((e) => e.device)?.device ?? '',
    });
  }
  return out.sort((a, b) => String(b.started_at).localeCompare(String(a.started_at)));
}

function shapeProfile(p: Row, role: Role, pii: PiiCipher): Row {
  let traits: Row = {};
  try {
    traits = JSON.parse(String(p.traits || '{}')) as Row;
  } catch {
    traits = {};
  }
  const { traits: open, unreadable } = pii.revealTraits(traits);
  return {
    site: p.site, country: p.country, consent: Number(p.consent) === 1, first_seen: p.first_seen, updated_at: p.updated_at,
    traits: role === 'admin' ? open : maskTraits(open),
    pii: role === 'admin' ? 'decrypted' : 'masked',
    ...(unreadable.length ? { unreadable_traits: unreadable } : {}),
  };
}
