// In-memory serving of the latest recommendation run. load() reads the run in a few big queries,
// builds a complete new snapshot off to the side and then replaces one reference, so a reader sees
// either the old lists or the new ones, never an empty or half-filled state. Requests are answered
// from Maps without touching ClickHouse.
import crypto from 'node:crypto';
import type { ClickHouse } from '../../lib/clickhouse.ts';
import type { Logger } from '../../lib/logger.ts';
import { sql } from '../../lib/sql.ts';
import { latestRunId } from '../runner.ts';
import { applyVariety, CandidatePool, excludeItems, type Candidate } from './rules.ts';

export interface Scored {
  id: string;
  score: number;
  /** personal: the customer's item that contributed most. */
  because?: string;
}

export interface ActorHistory {
  purchased: Set<string>;
  /** Most recent first. */
  recent: string[];
  country: string;
}

export interface RecsSnapshot {
  runId: string | null;
  loadedAt: number;
  personal: Map<string, Scored[]>;
  similar: Map<string, Scored[]>;
  boughtTogether: Map<string, Scored[]>;
  popular: Scored[];
  trending: Scored[];
  byCategory: Map<string, Scored[]>;
  byCountry: Map<string, Scored[]>;
  history: Map<string, ActorHistory>;
  identities: Map<string, string>;
  /** Available products → category ('' when unknown). */
  catalogue: Map<string, string>;
}

export interface ListRow { kind: string; list: string; key: string; id: string; score: number | string; extra: string }
export interface HistoryRow { actor_id: string; purchased: string[]; recent: string[]; country: string }
export interface CatalogueRow { product_id: string; category: string; popularity?: number | string }
export interface IdentityRow { anonymous_id: string; customer_id: string }

export interface RecommendRequest {
  customerId?: string;
  anonymousId?: string;
  contextProduct?: string;
  cart?: string[];
  limit: number;
  country?: string;
}

export type RecItem = Candidate;

export interface RecsAnswer {
  items: RecItem[];
  runId: string | null;
}

export interface RecsStoreOptions {
  /** Variety: at most this many items of one category in the first `varietyWindow` positions. */
  maxPerCategory?: number;
  varietyWindow?: number;
  log?: Logger;
}

/** How much each source counts when lists are blended (a source's best item scores its weight). */
export const SOURCE_WEIGHTS = {
  contextBoughtWith: 1.0,
  contextViewedWith: 0.9,
  cartBoughtWith: 0.8,
  cartViewedWith: 0.5,
  forYou: 0.7,
  history: 0.6,
  popularInCategory: 0.3,
  popularInCountry: 0.2,
  trending: 0.2,
  popular: 0.1,
} as const;

export function emptySnapshot(): RecsSnapshot {
  return {
    runId: null,
    loadedAt: 0,
    personal: new Map(),
    similar: new Map(),
    boughtTogether: new Map(),
    popular: [],
    trending: [],
    byCategory: new Map(),
    byCountry: new Map(),
    history: new Map(),
    identities: new Map(),
    catalogue: new Map(),
  };
}

function push(map: Map<string, Scored[]>, key: string, item: Scored): void {
  const list = map.get(key);
  if (list) list.push(item);
  else map.set(key, [item]);
}

/** Turns the rows of one run into a snapshot (pure: the tests build snapshots by hand with it). */
export function buildSnapshot(runId: string | null, rows: { lists: ListRow[]; history: HistoryRow[]; catalogue: CatalogueRow[]; identities: IdentityRow[] }): RecsSnapshot {
  const s = emptySnapshot();
  s.runId = runId;
  s.loadedAt = Date.now();
  for (const r of rows.lists) {
    const item: Scored = { id: r.id, score: Number(r.score) };
    switch (r.kind) {
      case 'personal':
        if (r.extra) item.because = r.extra;
        push(s.personal, r.key, item);
        break;
      case 'similar':
        push(s.similar, r.key, item);
        break;
      case 'bought_together':
        push(s.boughtTogether, r.key, item);
        break;
      case 'popular':
        if (r.list === 'overall') s.popular.push(item);
        else if (r.list === 'trending') s.trending.push(item);
        else if (r.list === 'category') push(s.byCategory, r.key, item);
        else if (r.list === 'country') push(s.byCountry, r.key, item);
        break;
    }
  }
  for (const h of rows.history) s.history.set(h.actor_id, { purchased: new Set(h.purchased), recent: h.recent, country: h.country });
  for (const c of rows.catalogue) s.catalogue.set(c.product_id, c.category);
  for (const i of rows.identities) s.identities.set(i.anonymous_id, i.customer_id);
  return s;
}

export function newListId(runId: string | null): string {
  return `${runId ?? 'none'}.${crypto.randomBytes(6).toString('hex')}`;
}

export class RecsStore {
  private snap: RecsSnapshot = emptySnapshot();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly maxPerCategory: number;
  private readonly varietyWindow: number;

  constructor(private readonly opts: RecsStoreOptions = {}) {
    this.maxPerCategory = opts.maxPerCategory ?? 3;
    this.varietyWindow = opts.varietyWindow ?? 10;
  }

  /** The snapshot readers currently see. */
  snapshot(): RecsSnapshot {
    return this.snap;
  }

  get runId(): string | null {
    return this.snap.runId;
  }

  /** Replace the served snapshot in one assignment. */
  swap(next: RecsSnapshot): void {
    this.snap = next;
  }

  /**
   * Load the latest ok run (loads are serialised: a second call waits for the first). Identity links
   * are re-read even when the run did not change, so a visitor who just identified is recognised.
   */
  load(ch: ClickHouse): Promise<RecsSnapshot> {
    const next = this.queue.then(() => this.loadNow(ch));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Reload only when a newer ok run exists (for processes that do not run the job themselves). */
  async refreshIfNewer(ch: ClickHouse): Promise<boolean> {
    const latest = await latestRunId(ch, 'recs');
    if (latest === null || latest === this.snap.runId) return false;
    await this.load(ch);
    return true;
  }

  private async loadNow(ch: ClickHouse): Promise<RecsSnapshot> {
    const t0 = performance.now();
    const runId = await latestRunId(ch, 'recs');
    const identities = await ch.rows<IdentityRow>(sql('recs/load-identities'));
    const current = this.snap;
    let next: RecsSnapshot;
    if (runId === null || runId === current.runId) {
      // Same lists: share them and swap in the fresh identity map only.
      next = { ...current, loadedAt: Date.now(), identities: new Map(identities.map((i) => [i.anonymous_id, i.customer_id])) };
    } else {
      const params = { run_id: runId };
      const lists = await ch.rows<ListRow>(sql('recs/load-lists'), params);
      const history = await ch.rows<HistoryRow>(sql('recs/load-history'), params);
      const catalogue = await ch.rows<CatalogueRow>(sql('recs/load-catalog'), params);
      next = buildSnapshot(runId, { lists, history, catalogue, identities });
    }
    this.snap = next;
    this.opts.log?.info(
      { runId, personal: next.personal.size, similar: next.similar.size, history: next.history.size, ms: Math.round(performance.now() - t0) },
      'recommendation lists loaded',
    );
    return next;
  }

  private watching: (() => void) | null = null;

  /**
   * Keep the store current: reload when the runner reports a successful 'recs' run, and, where this
   * process runs no jobs (API-only role), poll for a newer run every `pollMs`. Idempotent; returns the
   * function that stops watching.
   */
  watch(deps: { ch: ClickHouse; models?: { on(e: 'run', f: (r: { model: string }) => void): unknown; off(e: 'run', f: (r: { model: string }) => void): unknown } | undefined; pollMs?: number }): () => void {
    if (this.watching) return this.watching;
    const log = this.opts.log;
    const onRun = (r: { model: string }) => {
      if (r.model === 'recs') this.load(deps.ch).catch((err) => log?.error({ err }, 'reloading recommendation lists failed; still serving the previous run'));
    };
    let timer: NodeJS.Timeout | null = null;
    if (deps.models) deps.models.on('run', onRun);
    else if ((deps.pollMs ?? 60_000) > 0) {
      timer = setInterval(() => {
        this.refreshIfNewer(deps.ch).catch((err) => log?.error({ err }, 'checking for new recommendation lists failed'));
      }, deps.pollMs ?? 60_000);
      timer.unref();
    }
    this.watching = () => {
      deps.models?.off('run', onRun);
      if (timer) clearInterval(timer);
      this.watching = null;
    };
    return this.watching;
  }

  /**
   * Erasure: a snapshot without these ids' lists, histories and links, swapped in whole. A reload alone
   * would keep them: while the run is unchanged it shares the loaded lists.
   */
  forgetIds(ids: readonly string[]): void {
    const gone = new Set(ids);
    const s = this.snap;
    const without = <V>(m: Map<string, V>) => new Map([...m].filter(([k]) => !gone.has(k)));
    this.snap = {
      ...s,
      personal: without(s.personal),
      history: without(s.history),
      identities: new Map([...s.identities].filter(([a, c]) => !gone.has(a) && !gone.has(c))),
    };
  }

  /** Whether the loaded run holds a list, a history or a link for any of these ids (erasure's check). */
  holdsAny(ids: readonly string[]): boolean {
    const s = this.snap;
    return ids.some((id) => s.personal.has(id) || s.history.has(id) || s.identities.has(id) || [...s.identities.values()].includes(id));
  }

  /** The customer behind a request: the explicit customer id, or the one an anonymous id is linked to. */
  private customerOf(s: RecsSnapshot, req: { customerId?: string; anonymousId?: string }): string | undefined {
    if (req.customerId) return req.customerId;
    if (req.anonymousId) return s.identities.get(req.anonymousId);
    return undefined;
  }

  recommend(req: RecommendRequest): RecsAnswer {
    const s = this.snap; // one read: the whole answer comes from one snapshot
    const customer = this.customerOf(s, req);
    const histories = [customer ? s.history.get(customer) : undefined, req.anonymousId ? s.history.get(req.anonymousId) : undefined].filter(
      (h): h is ActorHistory => h !== undefined,
    );
    const cart = (req.cart ?? []).filter(Boolean);
    const excluded = new Set<string>(cart);
    if (req.contextProduct) excluded.add(req.contextProduct);
    for (const h of histories) for (const p of h.purchased) excluded.add(p);
    const country = req.country || histories.find((h) => h.country)?.country || '';

    const pool = new CandidatePool();
    const ctx = req.contextProduct;
    if (ctx) {
      pool.add(s.boughtTogether.get(ctx) ?? [], SOURCE_WEIGHTS.contextBoughtWith, () => `bought_with:${ctx}`);
      pool.add(s.similar.get(ctx) ?? [], SOURCE_WEIGHTS.contextViewedWith, () => `viewed_with:${ctx}`);
    }
    for (const item of cart) {
      pool.add(s.boughtTogether.get(item) ?? [], SOURCE_WEIGHTS.cartBoughtWith / cart.length, () => `bought_with:${item}`);
      pool.add(s.similar.get(item) ?? [], SOURCE_WEIGHTS.cartViewedWith / cart.length, () => `viewed_with:${item}`);
    }
    const personal = customer ? s.personal.get(customer) : undefined;
    if (personal && personal.length > 0) pool.add(personal, SOURCE_WEIGHTS.forYou, () => 'for_you');
    // No precomputed list (anonymous visitor, or a customer whose activity is newer than the run):
    // item-based on the fly from recent items, the most recent counting most.
    const recent = histories.flatMap((h) => h.recent);
    if ((!personal || personal.length === 0) && recent.length > 0) {
      const scores = new Map<string, { score: number; from: string; best: number }>();
      recent.slice(0, 20).forEach((item, idx) => {
        const w = 1 / (1 + idx);
        for (const sim of s.similar.get(item) ?? []) {
          const c = w * sim.score;
          const cur = scores.get(sim.id);
          if (!cur) scores.set(sim.id, { score: c, from: item, best: c });
          else {
            cur.score += c;
            if (c > cur.best) Object.assign(cur, { best: c, from: item });
          }
        }
      });
      const list = [...scores.entries()].map(([id, v]) => ({ id, score: v.score }));
      pool.add(list, SOURCE_WEIGHTS.history, (id) => `viewed_with:${scores.get(id)!.from}`);
    }
    // Cold start and filler: popular in the product's category, in the visitor's country, trending, overall.
    const ctxCategory = ctx ? s.catalogue.get(ctx) : undefined;
    if (ctxCategory) pool.add(s.byCategory.get(ctxCategory) ?? [], SOURCE_WEIGHTS.popularInCategory, () => `popular_in:${ctxCategory}`);
    if (country) pool.add(s.byCountry.get(country) ?? [], SOURCE_WEIGHTS.popularInCountry, () => `popular_in:${country}`);
    pool.add(s.trending, SOURCE_WEIGHTS.trending, () => 'trending');
    pool.add(s.popular, SOURCE_WEIGHTS.popular, () => 'popular_in:all');

    const kept = excludeItems(pool.ranked(), excluded, s.catalogue);
    const varied = applyVariety(kept, (id) => s.catalogue.get(id) || undefined, this.maxPerCategory, this.varietyWindow);
    return { items: varied.slice(0, req.limit).map(round), runId: s.runId };
  }

  /** Items engaged with by the same people (co-views, co-carts, co-purchases); falls back to popular in the product's category. */
  similar(productId: string, limit: number): RecsAnswer {
    const s = this.snap;
    const list = s.similar.get(productId) ?? [];
    let items: RecItem[] = list.map((x) => ({ product_id: x.id, score: x.score, reason: `viewed_with:${productId}` }));
    if (items.length < limit) {
      const category = s.catalogue.get(productId);
      const have = new Set(items.map((i) => i.product_id));
      if (category) {
        for (const x of s.byCategory.get(category) ?? []) {
          if (x.id !== productId && !have.has(x.id)) items.push({ product_id: x.id, score: 0, reason: `popular_in:${category}` });
        }
      }
    }
    items = excludeItems(items, new Set([productId]), s.catalogue);
    return { items: items.slice(0, limit).map(round), runId: s.runId };
  }

  /** Items bought in the same orders, by lift. No filler: an empty list is the honest answer. */
  boughtTogether(productId: string, limit: number): RecsAnswer {
    const s = this.snap;
    const items = (s.boughtTogether.get(productId) ?? []).map((x) => ({ product_id: x.id, score: x.score, reason: `bought_with:${productId}` }));
    return { items: excludeItems(items, new Set([productId]), s.catalogue).slice(0, limit).map(round), runId: s.runId };
  }
}

function round(c: RecItem): RecItem {
  return { ...c, score: Math.round(c.score * 1e6) / 1e6 };
}
