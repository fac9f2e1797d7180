// Reading untrusted request values for the shop's pages and JSON endpoints: strings cut to a length,
// integers with a fallback, form bodies with the first of repeated fields.
export type Form = Record<string, string>;

export function parseForm(body: string): Form {
  const out: Form = {};
  for (const [k, v] of new URLSearchParams(body)) if (!(k in out)) out[k] = v;
  return out;
}

export const str = (v: unknown, max = 1000): string => (typeof v === 'string' ? v.slice(0, max) : '');

export const int = (v: unknown, def: number): number => {
  const n = Number(v);
  return Number.isInteger(n) ? n : def;
};
