// Ids and display text: capped, control characters out, categories in one spelling.
export const TEXT_CAP = 2048;
export const PROPS_CAP = 16_384;

// Control characters (C0, DEL, C1) have no place in ids or display text.
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/g;

/** A string cut to n characters; anything else is ''. */
export const cap = (s: unknown, n = TEXT_CAP): string => (typeof s === 'string' ? (s.length > n ? s.slice(0, n) : s) : '');

/** Ids: trimmed, control characters removed, at most 128 characters. Case is kept: shops' ids are case-sensitive. */
export const normaliseId = (s: unknown): string => (typeof s === 'string' ? s.replace(CONTROL_RE, '').trim().slice(0, 128) : '');

const categoryCache = new Map<string, string>();
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

/** A search as typed, folded for grouping: single-spaced, lower case. */
export const normaliseQuery = (q: unknown): string => cap(q, 512).replace(/\s+/g, ' ').trim().toLowerCase();
