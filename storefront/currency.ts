// Prices in the visitor's currency, charges in the shop's. The display currency is chosen by
// ?currency=, then the cvm_currency cookie, then the region of the visitor's Accept-Language
// (en-GB → GBP, zh-CN → CNY, ...), then the shop's base currency. Rates come from fx_rates (FxTable).
import type { FxTable } from '../transform/fx.ts';

/** Currency of the regions shoppers most often come from; the rest see the base currency. */
const REGION_CURRENCY: Record<string, string> = {
  US: 'USD', GB: 'GBP', IE: 'EUR', DE: 'EUR', FR: 'EUR', ES: 'EUR', IT: 'EUR', NL: 'EUR', BE: 'EUR', AT: 'EUR', PT: 'EUR',
  FI: 'EUR', GR: 'EUR', CN: 'CNY', HK: 'HKD', TW: 'TWD', SG: 'SGD', JP: 'JPY', KR: 'KRW', AU: 'AUD', NZ: 'NZD', CA: 'CAD',
  CH: 'CHF', SE: 'SEK', NO: 'NOK', DK: 'DKK', PL: 'PLN', CZ: 'CZK', IN: 'INR', BR: 'BRL', MX: 'MXN',
};

/** Shown in the currency picker (those with a rate). */
export const PICKER_CURRENCIES = ['USD', 'EUR', 'GBP', 'CNY', 'JPY', 'AUD', 'CAD', 'CHF', 'HKD', 'SGD'];

export function regionCurrency(acceptLanguage: string | undefined): string | null {
  if (!acceptLanguage) return null;
  for (const part of acceptLanguage.split(',')) {
    const tag = part.split(';')[0]!.trim();
    const m = /^[a-z]{2,3}(?:-[A-Za-z]{4})?-([A-Za-z]{2})\b/.exec(tag);
    if (m) {
      const cur = REGION_CURRENCY[m[1]!.toUpperCase()];
      if (cur) return cur;
    }
  }
  return null;
}

export function normaliseCurrency(v: string | undefined | null): string | null {
  if (!v) return null;
  const c = v.trim().toUpperCase();
  return /^[A-Z]{3}$/.test(c) ? c : null;
}

export function fractionDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

export function roundMoney(amount: number, currency: string): number {
  const f = 10 ** fractionDigits(currency);
  return Math.round(amount * f) / f;
}

export function formatMoney(amount: number, currency: string, lang: string): string {
  try {
    return new Intl.NumberFormat(lang, { style: 'currency', currency }).format(amount);
  } catch {
    return `${amount.toFixed(2)} ${currency}`;
  }
}

/** Converts with today's rate; null when either currency has no rate. */
export class Money {
  constructor(private fx: FxTable, readonly base: string) {}

  setTable(fx: FxTable): void {
    this.fx = fx;
  }

  known(currency: string): boolean {
    return this.fx.rate(currency, this.base, Date.now()) !== null;
  }

  convert(amount: number, from: string, to: string, at = Date.now()): number | null {
    const rate = this.fx.rate(from, to, at);
    return rate === null ? null : roundMoney(amount * rate, to);
  }

  /** Price in the base currency (what is charged). */
  toBase(amount: number, from: string, at = Date.now()): number | null {
    return this.convert(amount, from, this.base, at);
  }

  /** Currencies the picker offers: the common ones that have a rate, and the base. */
  pickerCurrencies(): string[] {
    return [...new Set([this.base, ...PICKER_CURRENCIES.filter((c) => this.known(c))])];
  }
}

export function chooseCurrency(input: { query?: string | undefined; cookie?: string | undefined; acceptLanguage?: string | undefined }, money: Money): { currency: string; fromQuery: boolean } {
  const q = normaliseCurrency(input.query);
  if (q && money.known(q)) return { currency: q, fromQuery: true };
  const c = normaliseCurrency(input.cookie);
  if (c && money.known(c)) return { currency: c, fromQuery: false };
  const r = regionCurrency(input.acceptLanguage);
  if (r && money.known(r)) return { currency: r, fromQuery: false };
  return { currency: money.base, fromQuery: false };
}
