// Where the visitor is: country (ISO alpha-2) and locale. Lookups repeat across events, so they are cached.
import { normaliseLocale, toCountryCode } from '../country.ts';
import { cap } from './text.ts';

const localeCache = new Map<string, { locale: string; region: string }>();
function locale(input: string): { locale: string; region: string } {
  let hit = localeCache.get(input);
  if (!hit) {
    hit = normaliseLocale(input);
    if (localeCache.size >= 5_000) localeCache.clear();
    localeCache.set(input, hit);
  }
  return hit;
}

const countryCache = new Map<string, string>();
function country(input: string): string {
  if (!input) return '';
  let hit = countryCache.get(input);
  if (hit === undefined) {
    hit = toCountryCode(input);
    if (countryCache.size >= 5_000) countryCache.clear();
    countryCache.set(input, hit);
  }
  return hit;
}

export interface Place { country: string; locale: string }

/**
 * The event's own country, else the one in its traits, else the customer's known country, else the
 * locale's region (weakest: plenty of people browse in en-US outside the US).
 */
export function place(
  context: Record<string, unknown>,
  traits: Record<string, unknown>,
  customerId: string,
  customerCountry: ((customerId: string) => string | undefined) | undefined,
): Place {
  const loc = locale(cap(context.locale, 35));
  const code =
    country(cap(context.country, 64).trim()) ||
    country(cap(traits.country, 64).trim()) ||
    (customerId && customerCountry ? customerCountry(customerId) ?? '' : '') ||
    loc.region;
  return { country: code, locale: loc.locale };
}
