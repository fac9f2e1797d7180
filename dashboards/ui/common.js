// What both pages share: the API key (sessionStorage, or ?key= once), authenticated fetches, the
// language, number formatting and value labels.
import { STRINGS, pickLang } from './i18n.js';

const KEY = 'cvm.key';

export class AuthError extends Error {
  constructor(status) {
    super(status === 403 ? 'forbidden' : 'unauthorized');
    this.status = status;
  }
}

/** A key passed once as ?key= moves to sessionStorage and leaves the address bar (and history). */
export function takeKeyFromUrl() {
  const url = new URL(location.href);
  const k = url.searchParams.get('key');
  if (k) {
    sessionStorage.setItem(KEY, k);
    url.searchParams.delete('key');
    history.replaceState(null, '', url);
  }
}

export const getKey = () => sessionStorage.getItem(KEY) || '';
export const setKey = (k) => sessionStorage.setItem(KEY, k);
export const clearKey = () => sessionStorage.removeItem(KEY);

export async function api(path, { as = 'json' } = {}) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${getKey()}` } });
  if (res.status === 401 || res.status === 403) throw new AuthError(res.status);
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    const err = new Error(body.message || `HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return as === 'blob' ? res.blob() : res.json();
}

export function createI18n(lang = pickLang()) {
  const t = (k) => STRINGS[lang][k] ?? STRINGS.en[k] ?? k;
  return { lang, t };
}

/** Translated label of a value (segment, step, device ...) or of a column of a panel. */
export function valueLabel(labels, lang, v) {
  const l = labels && labels[v];
  return l ? l[lang] || l.en : String(v);
}
export function columnLabel(panel, lang, col) {
  const c = panel.columns && panel.columns[col];
  return c ? c[lang] || c.en : col;
}
export const columnFormat = (panel, col) => (panel.columns && panel.columns[col] && panel.columns[col].format) || 'number';

export function formatter(lang, currency) {
  const nf = (o) => new Intl.NumberFormat(lang, o);
  const money = nf({ style: 'currency', currency, maximumFractionDigits: 0 });
  const moneySmall = nf({ style: 'currency', currency, maximumFractionDigits: 2 });
  const int = nf({ maximumFractionDigits: 0 });
  const num = nf({ maximumFractionDigits: 2 });
  const small = nf({ maximumSignificantDigits: 3 });
  const pct = nf({ style: 'percent', maximumFractionDigits: 1 });
  const zh = lang === 'zh-CN';
  return function format(v, fmt) {
    if (v === null || v === undefined || v === '') return '–';
    if (fmt === 'text') return String(v);
    if (fmt === 'date') return String(v).slice(0, 10);
    if (fmt === 'datetime') return String(v).slice(0, 16);
    const n = Number(v);
    if (!Number.isFinite(n)) return typeof v === 'string' ? v : '–';
    switch (fmt) {
      case 'money': return Math.abs(n) < 100 ? moneySmall.format(n) : money.format(n);
      case 'int': return int.format(n);
      case 'percent': return pct.format(n);
      case 'seconds': {
        if (n < 60) return zh ? `${num.format(n)}秒` : `${num.format(n)} s`;
        if (n < 3600) return zh ? `${Math.floor(n / 60)}分${Math.round(n % 60)}秒` : `${Math.floor(n / 60)} min ${Math.round(n % 60)} s`;
        if (n < 86400) return zh ? `${num.format(n / 3600)}小时` : `${num.format(n / 3600)} h`;
        return zh ? `${num.format(n / 86400)}天` : `${num.format(n / 86400)} d`;
      }
      default: return n !== 0 && Math.abs(n) < 1 ? small.format(n) : num.format(n);
    }
  };
}

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

export function download(name, blobOrUrl) {
  const url = typeof blobOrUrl === 'string' ? blobOrUrl : URL.createObjectURL(blobOrUrl);
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  if (typeof blobOrUrl !== 'string') setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
