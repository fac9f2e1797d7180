// Customer 360: what GET /v1/customers/:id serves (profile, scores, recommendations, sessions), and the
// panels of the hidden 'customer' dashboard (orders, activity by month) for this customer.
import { AuthError, api, createI18n, el, formatter, getKey, setKey, takeKeyFromUrl, valueLabel } from './common.js';
import { disposeCharts, renderPanel } from './panels.js';

takeKeyFromUrl();
let i18n = createI18n();
const $ = (id) => document.getElementById(id);
const id = (() => {
  const last = location.pathname.split('/').pop() || '';
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
})();
let cache = null;

function texts() {
  document.documentElement.lang = i18n.lang;
  for (const node of document.querySelectorAll('[data-t]')) node.textContent = i18n.t(node.dataset.t);
  for (const b of document.querySelectorAll('[data-lang]')) b.classList.toggle('on', b.dataset.lang === i18n.lang);
  document.title = `${i18n.t('customer')} ${id}`;
  $('back').href = `/dashboards?lang=${encodeURIComponent(i18n.lang)}`;
}

function showLogin(status) {
  $('login').hidden = false;
  $('app').hidden = true;
  document.body.dataset.state = 'login';
  $('login-error').textContent = status === 403 ? i18n.t('wrongRole') : status === 401 ? i18n.t('badKey') : '';
}

/** A card of label/value pairs; rows whose value is missing are left out. */
function facts(key, width, rows, note) {
  const shown = rows && rows.filter(([, v]) => v !== undefined && v !== null && v !== '');
  return el('article', { class: `panel w-${width}`, 'data-state': shown && shown.length ? 'ready' : 'empty', 'data-panel': `360-${key}` },
    el('header', {}, el('h2', { text: i18n.t(key) })),
    el('div', { class: 'body' }, shown && shown.length
      ? el('dl', { class: 'facts' }, shown.flatMap(([k, v]) => [el('dt', { text: i18n.t(k) }), el('dd', { text: v })]))
      : el('p', { class: 'note', text: note || i18n.t('notScored') })));
}

function sessionsCard(list, f) {
  const rows = (list || []).slice(0, 10);
  const cols = [['started', (s) => f(s.started_at, 'datetime')], ['duration', (s) => f(s.duration_s, 'seconds')], ['pages', (s) => f(s.page_views, 'int')],
    ['events', (s) => f(s.events, 'int')], ['converted', (s) => (s.converted ? i18n.t('yes') : i18n.t('no'))], ['revenue', (s) => f(s.revenue_base, 'money')]];
  return el('article', { class: 'panel w-8', 'data-state': rows.length ? 'ready' : 'empty', 'data-panel': '360-sessions' },
    el('header', {}, el('h2', { text: i18n.t('sessions') })),
    el('div', { class: 'body' }, rows.length
      ? el('div', { class: 'table-wrap' }, el('table', {},
        el('thead', {}, el('tr', {}, cols.map(([k], i) => el('th', { class: i === 0 ? 'l' : 'r', text: i18n.t(k) })))),
        el('tbody', {}, rows.map((s) => el('tr', {}, cols.map(([, fn], i) => el('td', { class: i === 0 ? 'l' : 'r', text: fn(s) })))))))
      : el('p', { class: 'note', text: i18n.t('empty') })));
}

function draw() {
  const { profile: c, dash, meta } = cache;
  const f = formatter(i18n.lang, meta.base_currency);
  disposeCharts();
  const cards = [];
  if (!c) {
    $('customer-note').textContent = i18n.t('notFound');
  } else {
    $('customer-note').textContent = '';
    const p = c.profile || {};
    const traits = p.traits || {};
    cards.push(facts('profile', 4, [['name', traits.name], ['email', traits.email], ['country', p.country], ['firstSeen', p.first_seen && f(p.first_seen, 'datetime')],
      ['lastEvent', c.activity && f(c.activity.last_event_at, 'datetime')], ['events', c.activity && f(c.activity.events, 'int')],
      ['consent', p.consent === undefined ? undefined : p.consent ? i18n.t('yes') : i18n.t('no')]], i18n.t('empty')));
    const r = c.rfm;
    const v = c.clv;
    const h = c.churn;
    cards.push(facts('rfm', 4, r && [['segmentLabel', valueLabel(meta.labels, i18n.lang, r.segment)], ['score', r.score], ['recency', f(r.recency_days, 'number')],
      ['frequency', f(r.frequency, 'int')], ['monetary', f(r.monetary, 'money')]]));
    cards.push(facts('clv', 4, v && [['clvValue', f(v.clv, 'money')], ['pAlive', f(v.p_alive, 'percent')], ['expectedPurchases', f(v.expected_purchases, 'number')]]));
    cards.push(facts('churn', 4, h && [['churnRisk', f(h.churn_risk, 'percent')], ['reasons', (h.reasons || []).join(' · ')]]));
    cards.push(facts('recommendations', 8, (c.recommendations || []).slice(0, 6).map((x, i) => [String(i + 1), `${x.product_id} (${x.reason})`]), i18n.t('empty')));
    cards.push(sessionsCard(c.sessions, f));
  }
  const ctx = { lang: i18n.lang, t: i18n.t, labels: meta.labels, format: f, query: new URLSearchParams({ customer: id }), customerHref: (x) => `/dashboards/customer/${encodeURIComponent(x)}` };
  for (const p of dash.panels) cards.push(renderPanel(p, p.data, ctx));
  $('grid').replaceChildren(...cards);
  for (const c2 of cards) if (c2.draw) c2.draw();
}

async function boot() {
  texts();
  $('customer-id').textContent = id;
  if (!getKey()) return showLogin();
  try {
    const meta = await api('/v1/dashboards');
    const profile = await api(`/v1/customers/${encodeURIComponent(id)}`).catch((err) => { if (err.status === 404) return null; throw err; });
    const dash = await api(`/v1/dashboards/customer?customer=${encodeURIComponent(id)}`);
    cache = { meta, profile, dash };
  } catch (err) {
    if (err instanceof AuthError) return showLogin(err.status);
    document.body.dataset.state = 'failed';
    $('customer-note').textContent = err.message;
    return;
  }
  $('login').hidden = true;
  $('app').hidden = false;
  draw();
  document.body.dataset.state = 'ready';
}

for (const b of document.querySelectorAll('[data-lang]')) {
  b.addEventListener('click', () => {
    i18n = createI18n(b.dataset.lang);
    const u = new URL(location.href);
    u.searchParams.set('lang', i18n.lang);
    history.replaceState(null, '', u);
    texts();
    if (cache) draw();
  });
}
$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  setKey($('key').value.trim());
  void boot();
});
void boot();
