// The page: URL → path, and the campaign (utm_*) from its query, else from what the snippet copied into
// context when the URL lost it.
import { cap } from './text.ts';

export type Utm = Record<'utm_source' | 'utm_medium' | 'utm_campaign' | 'utm_term' | 'utm_content', string>;
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

export interface Page extends Utm { url: string; path: string; referrer: string }

export function page(context: Record<string, unknown>): Page {
  const url = cap(context.url);
  const { path, utm } = splitUrl(url);
  return {
    url,
    path,
    referrer: cap(context.referrer),
    utm_source: utm.utm_source || cap(context.utm_source, 256).trim(),
    utm_medium: utm.utm_medium || cap(context.utm_medium, 256).trim(),
    utm_campaign: utm.utm_campaign || cap(context.utm_campaign, 256).trim(),
    utm_term: utm.utm_term || cap(context.utm_term, 256).trim(),
    utm_content: utm.utm_content || cap(context.utm_content, 256).trim(),
  };
}
