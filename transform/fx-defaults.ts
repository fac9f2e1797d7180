// Bundled reference rates (USD per unit), rounded mid-market values of early 2024, dated far back so they
// apply to any day until real daily rates are imported with `cvm fx import rates.csv`.
export const DEFAULT_RATES_DAY = '2000-01-01';

export const DEFAULT_RATES_USD: Record<string, number> = {
  USD: 1, EUR: 1.085, GBP: 1.265, JPY: 0.0067, CNY: 0.139, CAD: 0.74, AUD: 0.655, CHF: 1.13, HKD: 0.128, SGD: 0.745,
  SEK: 0.096, NOK: 0.095, DKK: 0.1455, PLN: 0.25, CZK: 0.0435, HUF: 0.0028, KRW: 0.00075, INR: 0.012, BRL: 0.2,
  MXN: 0.058, NZD: 0.61, ZAR: 0.053, TRY: 0.032, AED: 0.2723, SAR: 0.2666, ILS: 0.275, THB: 0.028, MYR: 0.211,
  IDR: 0.000064, PHP: 0.0179, TWD: 0.0318, ISK: 0.0073, RON: 0.218, BGN: 0.555,
};
