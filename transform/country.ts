// Country names, codes and locales to ISO-3166 alpha-2. Names come from ICU (Intl.DisplayNames), so
// every region Node knows is covered without a hand-kept table; aliases cover common shop exports.
const display = new Intl.DisplayNames(['en'], { type: 'region' });

// Regions ICU names that are not countries (European Union, Eurozone, United Nations, pseudo-locales, reserved UK).
const NOT_COUNTRIES = new Set(['EU', 'EZ', 'UN', 'QO', 'UK', 'XA', 'XB', 'ZZ', 'DD', 'FX', 'SU', 'YU', 'ZR', 'TP', 'BU', 'CS', 'NT']);
const byName = new Map<string, string>();
const codes = new Set<string>();
for (let a = 65; a <= 90; a++) {
  for (let b = 65; b <= 90; b++) {
    const code = String.fromCharCode(a, b);
    const name = display.of(code);
    if (name && name !== code && !/^[A-Z]{2}$/.test(name) && !NOT_COUNTRIES.has(code)) {
      codes.add(code);
      // Keep the first code for a name: 'United Kingdom' is GB, not the reserved UK.
      if (!byName.has(normaliseName(name))) byName.set(normaliseName(name), code);
    }
  }
}

const ALIASES: Record<string, string> = {
  uk: 'GB', 'great britain': 'GB', england: 'GB', scotland: 'GB', wales: 'GB', 'northern ireland': 'GB', britain: 'GB',
  eire: 'IE', usa: 'US', 'united states of america': 'US', america: 'US', rsa: 'ZA', 'south korea': 'KR', korea: 'KR',
  'republic of korea': 'KR', russia: 'RU', 'czech republic': 'CZ', holland: 'NL', 'the netherlands': 'NL', uae: 'AE',
  'hong kong': 'HK', macau: 'MO', taiwan: 'TW', 'mainland china': 'CN', prc: 'CN', vietnam: 'VN', 'viet nam': 'VN',
  'channel islands': 'JE', 'ivory coast': 'CI', turkey: 'TR', swaziland: 'SZ', burma: 'MM', 'cape verde': 'CV',
  // ISO alpha-3 for the markets cross-border shops see most.
  gbr: 'GB', deu: 'DE', fra: 'FR', esp: 'ES', ita: 'IT', nld: 'NL', bel: 'BE', che: 'CH', aut: 'AT', irl: 'IE',
  prt: 'PT', swe: 'SE', nor: 'NO', dnk: 'DK', fin: 'FI', pol: 'PL', cze: 'CZ', grc: 'GR', chn: 'CN', jpn: 'JP',
  kor: 'KR', ind: 'IN', aus: 'AU', nzl: 'NZ', can: 'CA', mex: 'MX', bra: 'BR', arg: 'AR', zaf: 'ZA', sgp: 'SG',
  hkg: 'HK', twn: 'TW', are: 'AE', sau: 'SA', isr: 'IL', tur: 'TR', rus: 'RU', ukr: 'UA', idn: 'ID', mys: 'MY',
  tha: 'TH', vnm: 'VN', phl: 'PH', chl: 'CL', col: 'CO', per: 'PE', egy: 'EG', nga: 'NG', ken: 'KE', isl: 'IS',
  lux: 'LU', cyp: 'CY', mlt: 'MT', ltu: 'LT', lva: 'LV', est: 'EE', hun: 'HU', rou: 'RO', bgr: 'BG', hrv: 'HR',
};

function normaliseName(s: string): string {
  return s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z ]/g, ' ').replace(/\s+/g, ' ').trim();
}

/** 'Germany', 'de', 'DEU', 'EIRE' → 'DE' / 'IE'; unknown or pseudo-countries ('Unspecified') → ''. */
export function toCountryCode(input: string | undefined | null): string {
  if (!input) return '';
  const s = input.trim();
  if (/^[A-Za-z]{2}$/.test(s)) {
    const up = s.toUpperCase();
    if (up === 'UK') return 'GB';
    return codes.has(up) ? up : '';
  }
  const n = normaliseName(s);
  return ALIASES[n] ?? byName.get(n) ?? '';
}

/** 'en_us' → 'en-US'; the region, if any, is a fallback for the country. */
export function normaliseLocale(input: string | undefined | null): { locale: string; region: string } {
  if (!input) return { locale: '', region: '' };
  try {
    const [canonical] = Intl.getCanonicalLocales(input.trim().replace(/_/g, '-'));
    if (!canonical) return { locale: '', region: '' };
    const region = new Intl.Locale(canonical).region ?? '';
    return { locale: canonical, region: /^[A-Z]{2}$/.test(region) && codes.has(region) ? region : '' };
  } catch {
    return { locale: '', region: '' };
  }
}
