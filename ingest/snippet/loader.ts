// The one line shop owners paste into their pages. It defines a stub `window.cvm` that queues calls
// made before cvm.js arrives, then loads {data-host}/cvm.js async and copies its own data-* options
// onto that script tag (cvm.js reads them from there). ES5 on purpose: it runs before anything else.
//
// Readable form of LOADER_JS:
//   if (!window.cvm) {
//     var c = window.cvm = { q: [] }, e = document.currentScript, s = document.createElement('script');
//     'init page track identify reset consent flush'.split(' ').forEach(n => c[n] = (...a) => c.q.push([n, a]));
//     s.async = true; s.src = e.dataset.host + '/cvm.js';
//     for (k in e.dataset) s.dataset[k] = e.dataset[k];
//     (document.head || document.documentElement).appendChild(s);
//   }
export const LOADER_JS =
  '!function(w,d){if(!w.cvm){var c=w.cvm={q:[]},e=d.currentScript,s=d.createElement("script"),m="init page track identify reset consent flush".split(" "),i;' +
  'for(i=0;i<m.length;i++)!function(n){c[n]=function(){c.q.push([n,[].slice.call(arguments)])}}(m[i]);' +
  's.async=!0;s.src=e.dataset.host+"/cvm.js";for(i in e.dataset)s.dataset[i]=e.dataset[i];(d.head||d.documentElement).appendChild(s)}}(window,document)';

export interface LoaderOptions {
  /** Collector origin that serves /cvm.js and /v1/batch, e.g. https://cvm.example.com */
  host: string;
  key: string;
  requireConsent?: boolean;
  honorDnt?: boolean;
  flushAt?: number;
  flushInterval?: number;
  autocapture?: boolean;
  cookieDomain?: string;
}

const escapeAttr = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** The paste-in tag for one site. */
export function loaderTag(opts: LoaderOptions): string {
  const attrs: Array<[string, string | undefined]> = [
    ['host', opts.host.replace(/\/+$/, '')],
    ['key', opts.key],
    ['require-consent', opts.requireConsent === undefined ? undefined : String(opts.requireConsent)],
    ['honor-dnt', opts.honorDnt === undefined ? undefined : String(opts.honorDnt)],
    ['flush-at', opts.flushAt?.toString()],
    ['flush-interval', opts.flushInterval?.toString()],
    ['autocapture', opts.autocapture === undefined ? undefined : String(opts.autocapture)],
    ['cookie-domain', opts.cookieDomain],
  ];
  const list = attrs.filter(([, v]) => v !== undefined).map(([k, v]) => ` data-${k}="${escapeAttr(v!)}"`).join('');
  return `<script${list}>${LOADER_JS}</script>`;
}
