// cvm.js — the browser tracker shops paste in (through the loader in loader.ts). No dependencies,
// ES2017, built and minified by build.ts. It sends events in the shape of ingest/contract.ts to
// POST {host}/v1/batch as text/plain (a CORS "simple" request: no preflight, key in the body).
//
// Delivery is at-least-once: an event leaves the queue only after a 2xx/4xx answer (or a beacon the
// browser accepted); the pipeline folds duplicates by event_id, which is made here.
export {};

type Props = Record<string, unknown>;
type Call = [string, unknown[]];

interface Options {
  key?: string;
  host?: string;
  requireConsent?: boolean;
  honorDnt?: boolean;
  /** Send once this many events are queued. */
  flushAt?: number;
  /** ...or this many milliseconds after the first queued one. */
  flushInterval?: number;
  autocapture?: boolean;
  cookieDomain?: string;
  /** Offline queue caps (events, bytes of JSON). The oldest events are dropped beyond them. */
  maxQueue?: number;
  maxQueueBytes?: number;
}

interface Ev {
  event_id: string;
  type: string;
  ts: string;
  sent_at?: string;
  anonymous_id?: string;
  customer_id?: string;
  session_id?: string;
  context: Props;
  properties: Props;
  traits?: Props;
  identity_signature?: string;
}

interface Stub {
  q?: Call[];
  v?: string;
  [k: string]: unknown;
}

const VERSION = '0.1.0';
const w = window;
const d = document;
const nav = navigator as Navigator & { globalPrivacyControl?: boolean };
const me = d.currentScript as HTMLScriptElement | null;
const SESSION_MS = 30 * 60_000;
const YEAR_S = 31_536_000;
const MAX_EVENT = 32_000; // a bigger event could never fit a beacon
const MAX_BODY = 60_000; // under the 64 KB keepalive/beacon budget
const A_AID = 'cvm_aid';
const A_CID = 'cvm_cid';
const A_SID = 'cvm_sid';
const A_Q = 'cvm_q';
const A_CONSENT = 'cvm_consent';
const ATTR = 'data-cvm-';
const PRODUCT = '[data-cvm-product-id]';
const LIST = '[data-cvm-list-id]';

let cfg: Required<Omit<Options, 'cookieDomain'>> & { cookieDomain?: string };
let started = false;
let allowed = false;
let dnt = false;
let aid = '';
let cid: string | null = null;
let sess: { id: string; t: number } | null = null;
let queue: Ev[] = [];
let pending: Ev[] = []; // made before consent: memory only, released by consent(true)
const early: Call[] = []; // calls made before init
const seen = new Set<string>(); // event ids this page has held, to tell other tabs' saved events apart
let flying = new Set<string>(); // ids of the batch in flight
let timer = 0;
let retryTimer = 0;
let retryAt = 0;
let attempt = 0;
let unreported = 0; // dropped events not yet reported to the collector
const stat = { sent: 0, dropped: 0, rejected: 0, retries: 0 };
let ref = d.referrer;
let href = location.href; // URL of the last page view: the referrer of the next SPA one
let route = '';
let navTimer = 0;
let viewed = new Set<string>();
let listed = new Set<string>();
let io: IntersectionObserver | null = null;
const visible = new WeakSet<Element>(); // recommendation lists currently on screen
let scanTimer = 0;

const warn = (m: string) => w.console && console.warn('cvm: ' + m);
const cut = (v: unknown, n: number) => String(v).slice(0, n);
const now = () => Date.now();

function uuid(): string {
  const c = w.crypto;
  if (c && c.randomUUID) return c.randomUUID(); // secure contexts only
  const b = new Uint8Array(16);
  if (c && c.getRandomValues) c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = (Math.random() * 256) | 0;
  b[6] = (b[6]! & 15) | 64;
  b[8] = (b[8]! & 63) | 128;
  let h = '';
  for (let i = 0; i < 16; i++) h += (b[i]! + 256).toString(16).slice(1) + (i === 3 || i === 5 || i === 7 || i === 9 ? '-' : '');
  return h;
}

// Storage may throw (disabled, private mode, quota): every access is guarded.
function lsGet(k: string): string | null {
  try {
    return localStorage.getItem(k);
  } catch {
    return null;
  }
}
function lsSet(k: string, v: string | null): boolean {
  try {
    if (v === null) localStorage.removeItem(k);
    else localStorage.setItem(k, v);
    return true;
  } catch {
    return false;
  }
}
function json<T>(s: string | null): T | null {
  try {
    return s ? (JSON.parse(s) as T) : null;
  } catch {
    return null;
  }
}
function cookie(v?: string | null): string | null {
  if (v === undefined) {
    const m = d.cookie.match(/(?:^|; )cvm_aid=([^;]*)/);
    return m ? decodeURIComponent(m[1]!) : null;
  }
  d.cookie =
    A_AID + '=' + (v === null ? '' : encodeURIComponent(v)) + '; path=/; max-age=' + (v === null ? 0 : YEAR_S) + '; SameSite=Lax' +
    (cfg.cookieDomain ? '; domain=' + cfg.cookieDomain : '') + (location.protocol === 'https:' ? '; Secure' : '');
  return v;
}

function setAid(v: string): void {
  aid = v;
  cookie(v); // refreshed on every page, which also restores it from localStorage if the browser expired it
  lsSet(A_AID, v);
}

function session(): string {
  const t = now();
  let s = json<{ id: string; t: number }>(lsGet(A_SID)) || sess; // shared by tabs through localStorage
  if (!s || !s.id || t - s.t > SESSION_MS) s = { id: uuid(), t };
  s.t = t;
  sess = s;
  lsSet(A_SID, JSON.stringify(s));
  return s.id;
}

function context(): Props {
  const c: Props = {
    url: cut(location.href, 2048),
    title: cut(d.title, 512),
    locale: cut(nav.language || '', 35),
    user_agent: cut(nav.userAgent, 1024),
    screen: { width: screen.width | 0, height: screen.height | 0 },
    library: { name: 'cvm.js', version: VERSION },
  };
  if (ref) c.referrer = cut(ref, 2048);
  try {
    c.timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {}
  const q = new URLSearchParams(location.search);
  for (const u of ['source', 'medium', 'campaign', 'term', 'content']) {
    const v = q.get('utm_' + u);
    if (v) c['utm_' + u] = cut(v, 256);
  }
  return c;
}

function make(type: string, properties: Props = {}): Ev {
  const e: Ev = { event_id: uuid(), type, ts: new Date().toISOString(), context: context(), properties };
  if (cid) e.customer_id = cid;
  return e;
}

function push(e: Ev): void {
  if (dnt) return;
  if (!allowed) {
    if (pending.length < 100) pending.push(e);
    return;
  }
  e.anonymous_id = aid;
  e.session_id = session();
  if (JSON.stringify(e).length > MAX_EVENT) return drop(1, 'event larger than ' + MAX_EVENT + ' bytes');
  queue.push(e);
  seen.add(e.event_id);
  save();
  if (queue.length >= cfg.flushAt) void flush();
  else schedule();
}

function drop(n: number, why: string): void {
  stat.dropped += n;
  unreported += n;
  warn('dropped ' + n + ' event(s): ' + why);
}

function schedule(): void {
  if (!timer && queue.length) timer = w.setTimeout(() => void flush(), cfg.flushInterval);
}

/**
 * Persists the queue, capped by count and bytes (oldest dropped first). Events other tabs saved are
 * kept in the stored queue untouched, so one tab never overwrites another's unsent events.
 */
function save(): void {
  let s = JSON.stringify(queue);
  let n = 0;
  while (queue.length && (queue.length > cfg.maxQueue || s.length > cfg.maxQueueBytes)) {
    queue.shift();
    n++;
    s = JSON.stringify(queue);
  }
  if (n) drop(n, 'offline queue full');
  if (!allowed) return;
  const stored = json<{ e: Ev[] }>(lsGet(A_Q));
  let others = stored && stored.e ? stored.e.filter((e) => !seen.has(e.event_id)) : [];
  for (;;) {
    const all = others.concat(queue);
    if (!all.length ? lsSet(A_Q, null) : lsSet(A_Q, JSON.stringify({ e: all, d: unreported }))) return;
    if (!others.length) return; // quota exceeded by our own queue: it stays in memory
    others = others.slice(others.length >> 1);
  }
}

function take(from: Ev[]): Ev[] {
  const batch: Ev[] = [];
  let size = 0;
  for (const e of from) {
    const n = JSON.stringify(e).length + 1;
    if (batch.length && (batch.length >= 100 || size + n > MAX_BODY)) break;
    batch.push(e);
    size += n;
  }
  return batch;
}

function body(batch: Ev[]): string {
  const sent_at = new Date().toISOString();
  const out = batch.map((e, i) =>
    // The first event reports how many were dropped, so the shop sees loss in its own data.
    Object.assign({}, e, { sent_at }, i || !unreported ? {} : { context: Object.assign({}, e.context, { dropped: unreported }) }),
  );
  return JSON.stringify({ key: cfg.key, batch: out });
}

function done(batch: Ev[], reported: number): void {
  const ids = new Set(batch.map((e) => e.event_id));
  queue = queue.filter((e) => !ids.has(e.event_id));
  unreported = Math.max(0, unreported - reported);
  save();
}

/** Sends the head of the queue. Only one request is in flight; failures back off with jitter. */
function flush(force?: boolean): Promise<void> {
  w.clearTimeout(timer);
  timer = 0;
  if (!allowed || flying.size || !queue.length) return Promise.resolve();
  if (retryAt > now() && !force) return Promise.resolve(); // the retry timer will call again
  w.clearTimeout(retryTimer);
  const batch = take(queue);
  const reported = unreported;
  const payload = body(batch);
  flying = new Set(batch.map((e) => e.event_id));
  return fetch(cfg.host + '/v1/batch', {
    method: 'POST',
    body: payload,
    headers: { 'Content-Type': 'text/plain' },
    credentials: 'omit',
    keepalive: payload.length < MAX_BODY,
  })
    .then((r) => {
      if (r.status >= 500 || r.status === 429 || r.status === 408) throw r.status;
      return r.json().then(
        (j: { accepted?: number; rejected?: unknown[] }) => {
          // 4xx other than 429 will fail the same way again: drop, never retry.
          const bad = r.ok ? (j.rejected || []).length : batch.length;
          if (!r.ok) warn('collector refused ' + batch.length + ' event(s): ' + r.status + ' ' + JSON.stringify(j));
          stat.rejected += bad;
          stat.sent += batch.length - bad;
        },
        () => {
          stat[r.ok ? 'sent' : 'rejected'] += batch.length;
        },
      );
    })
    .then(
      () => {
        flying = new Set();
        attempt = 0;
        retryAt = 0;
        done(batch, reported);
        if (queue.length && (queue.length >= cfg.flushAt || now() - Date.parse(queue[0]!.ts) >= cfg.flushInterval)) void flush();
        else schedule();
      },
      () => {
        flying = new Set();
        stat.retries++;
        const cap = Math.min(60_000, 1000 * 2 ** Math.min(attempt++, 6));
        const wait = cap / 2 + Math.random() * (cap / 2);
        retryAt = now() + wait;
        retryTimer = w.setTimeout(() => {
          retryAt = 0; // timers may fire a little early by Date.now()
          void flush();
        }, wait);
      },
    );
}

/** Page is going away: hand whatever is not in flight to sendBeacon, which outlives the page. */
function unload(): void {
  if (!allowed || !queue.length) return;
  // While the collector is failing a beacon would be lost unseen; the saved queue goes with the next page instead.
  if (!attempt) {
    let rest = queue.filter((e) => !flying.has(e.event_id));
    while (rest.length && nav.sendBeacon) {
      const batch = take(rest);
      const reported = unreported;
      if (!nav.sendBeacon(cfg.host + '/v1/batch', body(batch))) break;
      stat.sent += batch.length;
      done(batch, reported);
      rest = rest.slice(batch.length);
    }
  }
  save();
}

function product(el: Element | null): Props | null {
  const a = (n: string) => (el && el.getAttribute(ATTR + n)) || '';
  const id = a('product-id');
  if (!id) return null;
  const p: Props = { product_id: cut(id, 128) };
  const price = a('price') && Number(a('price'));
  const cur = a('currency');
  if (a('category')) p.category = cut(a('category'), 256);
  if (typeof price === 'number' && price >= 0 && price <= 1e12) p.price = price;
  if (/^[A-Za-z]{3}$/.test(cur)) p.currency = cur.toUpperCase();
  if (a('title')) p.title = cut(a('title'), 512);
  return p;
}

function listProps(list: Element): Props {
  const p: Props = { list_id: cut(list.getAttribute(ATTR + 'list-id'), 128) };
  const pl = list.getAttribute(ATTR + 'placement');
  if (pl) p.placement = cut(pl, 64);
  return p;
}

function impression(list: Element): void {
  const p = listProps(list);
  const ids: string[] = [];
  list.querySelectorAll(PRODUCT).forEach((el) => {
    const id = cut(el.getAttribute(ATTR + 'product-id'), 128);
    if (id && ids.indexOf(id) < 0 && ids.length < 100) ids.push(id);
  });
  const key = String(p.list_id);
  if (!ids.length || listed.has(key)) return; // empty: items may still be rendering
  listed.add(key);
  p.product_ids = ids;
  push(make('rec_impression', p));
}

/** Finds product elements and recommendation lists; runs on each page view and on DOM changes. */
function scan(): void {
  scanTimer = 0;
  if (navTimer) return; // the DOM belongs to the next page view, which scans when it is recorded
  d.querySelectorAll(PRODUCT).forEach((el) => {
    if (el.closest(LIST) || el.hasAttribute(ATTR + 'add-to-cart')) return;
    const p = product(el);
    if (p && !viewed.has(p.product_id as string)) {
      viewed.add(p.product_id as string);
      push(make('product_view', p));
    }
  });
  d.querySelectorAll(LIST).forEach((el) => {
    if (io) io.observe(el); // observing twice is a no-op
    if (!io || visible.has(el)) impression(el);
  });
}

function rescan(ms: number): void {
  if (!scanTimer) scanTimer = w.setTimeout(scan, ms);
}

function routeKey(): string {
  const h = location.hash;
  return location.pathname + location.search + (/^#[!/]/.test(h) ? h : '');
}

function page(props?: Props): void {
  route = routeKey();
  viewed = new Set();
  listed = new Set();
  push(make('page_view', Object.assign({ path: location.pathname }, props)));
  href = location.href;
  if (cfg.autocapture) rescan(0);
}

function navigated(): void {
  const r = routeKey();
  if (r === route) return;
  route = r;
  // Frameworks set the title and DOM just after pushState: record the view once they have (and once
  // for a burst, such as a redirect by replaceState).
  w.clearTimeout(navTimer);
  navTimer = w.setTimeout(() => {
    navTimer = 0;
    ref = href;
    page();
  }, 100);
}

function autocapture(): void {
  for (const m of ['pushState', 'replaceState'] as const) {
    const orig = history[m];
    history[m] = function (this: History, ...a: Parameters<History['pushState']>) {
      const r = orig.apply(this, a);
      navigated();
      return r;
    };
  }
  w.addEventListener('popstate', navigated);
  if (w.IntersectionObserver) {
    io = new IntersectionObserver(
      (entries) => {
        for (const e of entries) {
          if (e.isIntersecting && (e.intersectionRatio >= 0.5 || e.intersectionRect.height >= innerHeight / 2)) {
            visible.add(e.target);
            impression(e.target);
          } else visible.delete(e.target);
        }
      },
      { threshold: [0, 0.25, 0.5, 0.75, 1] },
    );
  }
  new MutationObserver(() => rescan(50)).observe(d.documentElement, {
    childList: true,
    subtree: true,
    attributes: true,
    attributeFilter: [ATTR + 'product-id', ATTR + 'list-id'],
  });
  // Capture phase: runs before a link navigates or a handler stops propagation.
  d.addEventListener(
    'click',
    (ev) => {
      const t = ev.target as Element | null;
      if (!t || !t.closest) return;
      const list = t.closest(LIST);
      const btn = t.closest('[data-cvm-add-to-cart]');
      if (btn) {
        const src = btn.closest(PRODUCT);
        const p = product(src);
        const qty = parseInt(btn.getAttribute(ATTR + 'quantity') || (src && src.getAttribute(ATTR + 'quantity')) || '1', 10);
        if (p) {
          if (qty >= 1 && qty <= 100_000) p.quantity = qty;
          if (list) Object.assign(p, listProps(list));
          push(make('add_to_cart', p));
        }
      }
      const item = list && t.closest(PRODUCT);
      if (list && item && list.contains(item)) {
        push(make('rec_click', Object.assign(listProps(list), { product_id: cut(item.getAttribute(ATTR + 'product-id'), 128) })));
      }
    },
    true,
  );
  page();
}

/** Starts storing and sending: at init when no consent is needed, else at consent(true). */
function allow(): void {
  if (allowed || dnt) return;
  allowed = true;
  setAid(cookie() || lsGet(A_AID) || uuid());
  if (cid) lsSet(A_CID, cid);
  const stored = json<{ e: Ev[]; d?: number }>(lsGet(A_Q));
  if (stored && stored.e) {
    // Events a previous page (or tab) could not deliver.
    for (const e of stored.e) if (!seen.has(e.event_id)) (seen.add(e.event_id), queue.push(e));
    unreported += stored.d || 0;
  }
  const held = pending;
  pending = [];
  for (const e of held) push(e);
  save();
  if (queue.length) void flush();
}

function forget(): void {
  w.clearTimeout(timer);
  w.clearTimeout(retryTimer);
  queue = [];
  pending = [];
  for (const k of [A_AID, A_CID, A_SID, A_Q]) lsSet(k, null);
  cookie(null);
}

const api = {
  init(o: Options = {}): void {
    if (started) return warn('init called twice; ignored');
    const a = attrs();
    cfg = Object.assign(
      { key: '', host: '', requireConsent: false, honorDnt: false, flushAt: 20, flushInterval: 5000, autocapture: true, maxQueue: 500, maxQueueBytes: 256_000 },
      a,
      o,
    );
    if (!cfg.key) return warn('no write key: call cvm.init({ key }) or set data-key');
    cfg.host = cfg.host.replace(/\/+$/, '');
    cfg.flushAt = Math.max(1, Math.min(100, cfg.flushAt | 0 || 20));
    cfg.flushInterval = Math.max(100, +cfg.flushInterval || 5000);
    started = true;
    dnt = !!cfg.honorDnt && (nav.doNotTrack === '1' || (w as unknown as { doNotTrack?: string }).doNotTrack === '1' || !!nav.globalPrivacyControl);
    const c = lsGet(A_CONSENT);
    cid = lsGet(A_CID);
    if (c === '1' || (c !== '0' && !cfg.requireConsent)) allow();
    if (cfg.autocapture) autocapture();
    w.addEventListener('pagehide', unload);
    d.addEventListener('visibilitychange', () => void flush(d.visibilityState === 'visible'));
    w.addEventListener('online', () => void flush(true));
    for (const [n, args] of early.splice(0)) call(n, args);
  },
  page(props?: Props): void {
    page(Object.assign({}, props));
  },
  track(type: string, props?: Props): void {
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(type)) return warn('event type must be snake_case: ' + type);
    push(make(type, Object.assign({}, props)));
  },
  /**
   * opts.signature: the shop back end's HMAC-SHA256 of the customer id (hex) under the site's identity
   * secret. Without it the collector stores the identify but it links nothing and changes no profile.
   */
  identify(customerId: string | number, traits?: Props | null, opts?: { signature?: string }): void {
    const id = cut(customerId == null ? '' : customerId, 128);
    if (!id) return warn('identify needs a customer id');
    cid = id;
    if (allowed) lsSet(A_CID, id);
    const e = make('identify');
    if (traits) e.traits = Object.assign({}, traits);
    if (opts && opts.signature) e.identity_signature = cut(opts.signature, 64);
    push(e);
  },
  /** Logout: forget the customer, start a new anonymous id and session. */
  reset(): void {
    cid = null;
    lsSet(A_CID, null);
    lsSet(A_SID, null);
    sess = null;
    if (allowed) setAid(uuid());
  },
  consent(granted: boolean): void {
    lsSet(A_CONSENT, granted ? '1' : '0');
    if (granted) allow();
    else {
      allowed = false;
      forget();
      lsSet(A_CONSENT, '0');
    }
  },
  flush(): Promise<void> {
    return flush(true);
  },
  stats() {
    return Object.assign({ queued: queue.length, pending: pending.length, consent: allowed, dnt }, stat);
  },
};

function call(name: string, args: unknown[]): void {
  if (!started && name !== 'init' && name !== 'stats') {
    early.push([name, args]);
    return;
  }
  const f = (api as unknown as Record<string, (...a: unknown[]) => unknown>)[name];
  if (f) f(...args);
}

/** Options from data attributes on the script tag (the loader copies its own onto it). */
function attrs(): Options {
  const o: Options = {};
  if (!me) return o;
  const ds = me.dataset;
  const on = (v?: string) => v !== undefined && v !== 'false' && v !== '0';
  if (me.src) o.host = new URL(me.src).origin;
  if (ds.host) o.host = ds.host;
  if (ds.key) o.key = ds.key;
  if ('requireConsent' in ds) o.requireConsent = on(ds.requireConsent);
  if ('honorDnt' in ds) o.honorDnt = on(ds.honorDnt);
  if ('autocapture' in ds) o.autocapture = on(ds.autocapture);
  if (ds.flushAt) o.flushAt = +ds.flushAt;
  if (ds.flushInterval) o.flushInterval = +ds.flushInterval;
  if (ds.cookieDomain) o.cookieDomain = ds.cookieDomain;
  return o;
}

// Boot: take over the loader's stub object (callers may hold a reference to it) and replay its queue.
const stub: Stub = ((w as unknown as { cvm?: Stub }).cvm ||= {});
if (!stub.v) {
  const q = stub.q || [];
  Object.assign(stub, { v: VERSION }, api, { init: (o?: Options) => call('init', [o]) });
  for (const k of ['page', 'track', 'identify', 'reset', 'consent', 'flush'])
    stub[k] = (...a: unknown[]) => (started ? (api as unknown as Record<string, (...x: unknown[]) => unknown>)[k]!(...a) : void early.push([k, a]));
  delete stub.q;
  // init calls first (merged), so queued track/identify calls find a configured tracker.
  const inits = q.filter((c) => c[0] === 'init');
  const opts = Object.assign({}, ...inits.map((c) => c[1][0] as Options));
  for (const c of q) if (c[0] !== 'init') early.push(c);
  if (inits.length || (me && me.dataset.key)) api.init(opts);
}
