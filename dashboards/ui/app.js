// The dashboards page: tabs, filters shared by every panel (kept in the address bar), language switch,
// and the panels of the chosen dashboard from GET /v1/dashboards/:id.
import { AuthError, api, clearKey, createI18n, el, formatter, getKey, setKey, takeKeyFromUrl, valueLabel } from './common.js';
import { disposeCharts, renderPanel } from './panels.js';

takeKeyFromUrl();
let i18n = createI18n();
let meta = null;
let last = null;
let seq = 0;
const $ = (id) => document.getElementById(id);

function query() {
  return new URLSearchParams(location.search);
}

function state() {
  const q = query();
  const visible = meta.dashboards.filter((d) => !d.hidden);
  const dashboard = visible.some((d) => d.id === q.get('dashboard')) ? q.get('dashboard') : visible[0].id;
  return {
    dashboard,
    from: q.get('from') || meta.defaults.from,
    to: q.get('to') || meta.defaults.to,
    grain: q.get('grain') === 'week' ? 'week' : 'day',
    country: q.get('country') || '',
    segment: q.get('segment') || '',
  };
}

/** The filters as the data API takes them (empty ones left out). */
function filterQuery(s = state()) {
  const q = new URLSearchParams();
  for (const k of ['from', 'to', 'grain', 'country', 'segment']) if (s[k]) q.set(k, s[k]);
  return q;
}

function setState(patch, reload = true) {
  const q = query();
  for (const [k, v] of Object.entries(patch)) {
    if (v === '' || v === null || v === undefined) q.delete(k);
    else q.set(k, v);
  }
  history.replaceState(null, '', `${location.pathname}?${q}`);
  if (reload) void load();
}

function texts() {
  const { t, lang } = i18n;
  document.documentElement.lang = lang;
  document.title = t('title');
  for (const node of document.querySelectorAll('[data-t]')) node.textContent = t(node.dataset.t);
  for (const b of document.querySelectorAll('[data-lang]')) b.classList.toggle('on', b.dataset.lang === lang);
}

function showLogin(status) {
  document.body.dataset.state = 'login';
  $('login').hidden = false;
  $('app').hidden = true;
  $('login-error').textContent = status === 403 ? i18n.t('wrongRole') : status === 401 ? i18n.t('badKey') : '';
  $('key').focus();
}

function tabs() {
  const s = state();
  $('tabs').replaceChildren(...meta.dashboards.filter((d) => !d.hidden).map((d) =>
    el('a', { href: `?${new URLSearchParams({ ...Object.fromEntries(query()), dashboard: d.id })}`, class: d.id === s.dashboard ? 'tab on' : 'tab', 'data-dashboard': d.id,
      onclick: (e) => { e.preventDefault(); setState({ dashboard: d.id }); tabs(); } }, d.title[i18n.lang] || d.title.en)));
}

function filters() {
  const s = state();
  const { t, lang } = i18n;
  $('f-from').value = s.from;
  $('f-to').value = s.to;
  $('f-grain').replaceChildren(el('option', { value: 'day', text: t('day') }), el('option', { value: 'week', text: t('week') }));
  $('f-grain').value = s.grain;
  $('f-country').replaceChildren(el('option', { value: '', text: t('all') }), ...meta.filters.countries.map((c) => el('option', { value: c, text: c })));
  $('f-country').value = s.country;
  $('f-segment').replaceChildren(el('option', { value: '', text: t('all') }), ...meta.filters.segments.map((g) => el('option', { value: g, text: valueLabel(meta.labels, lang, g) })));
  $('f-segment').value = s.segment;
}

function wireFilters() {
  $('f-from').addEventListener('change', (e) => setState({ from: e.target.value }));
  $('f-to').addEventListener('change', (e) => setState({ to: e.target.value }));
  $('f-grain').addEventListener('change', (e) => setState({ grain: e.target.value === 'day' ? '' : e.target.value }));
  $('f-country').addEventListener('change', (e) => setState({ country: e.target.value }));
  $('f-segment').addEventListener('change', (e) => setState({ segment: e.target.value }));
  for (const b of document.querySelectorAll('[data-days]')) {
    b.addEventListener('click', () => {
      const to = state().to;
      const from = new Date(Date.parse(`${to}T00:00:00Z`) - (Number(b.dataset.days) - 1) * 86_400_000).toISOString().slice(0, 10);
      setState({ from });
      filters();
    });
  }
  for (const b of document.querySelectorAll('[data-lang]')) {
    b.addEventListener('click', () => {
      setState({ lang: b.dataset.lang }, false);
      i18n = createI18n(b.dataset.lang);
      texts();
      if (meta) { tabs(); filters(); }
      if (last) draw(last);
    });
  }
  $('logout').addEventListener('click', () => { clearKey(); location.reload(); });
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    setKey($('key').value.trim());
    $('key').value = '';
    void boot();
  });
}

function draw(res) {
  disposeCharts();
  const format = formatter(i18n.lang, meta.base_currency);
  const ctx = {
    lang: i18n.lang, t: i18n.t, labels: meta.labels, format, query: filterQuery(),
    customerHref: (id) => `/dashboards/customer/${encodeURIComponent(id)}?lang=${encodeURIComponent(i18n.lang)}`,
  };
  const cards = res.panels.map((p) => renderPanel(p, p.data, ctx));
  $('grid').replaceChildren(...cards);
  for (const c of cards) if (c.draw) c.draw();
  $('status').textContent = `${i18n.t('took')} ${res.ms} ms`;
}

async function load() {
  const mine = ++seq;
  const s = state();
  document.body.dataset.state = 'loading';
  document.body.dataset.dashboard = s.dashboard;
  $('status').textContent = i18n.t('loading');
  try {
    const res = await api(`/v1/dashboards/${encodeURIComponent(s.dashboard)}?${filterQuery(s)}`);
    if (mine !== seq) return; // a newer filter change is on its way
    last = res;
    draw(res);
    document.body.dataset.state = 'ready';
  } catch (err) {
    if (err instanceof AuthError) return showLogin(err.status);
    document.body.dataset.state = 'failed';
    $('status').textContent = err.message;
  }
}

async function boot() {
  texts();
  if (!getKey()) return showLogin();
  try {
    meta = await api('/v1/dashboards');
  } catch (err) {
    if (err instanceof AuthError) return showLogin(err.status);
    throw err;
  }
  $('login').hidden = true;
  $('app').hidden = false;
  tabs();
  filters();
  await load();
}

wireFilters();
void boot();
