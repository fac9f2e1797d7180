// Products from a CSV file (`cvm import products FILE`, POST /v1/shop/products/import). RFC 4180:
// quoted fields may hold commas, quotes ("") and line breaks. Header names are matched loosely
// (product_id or id or sku, ...). A bad row is reported with its line and field and left out; the
// good rows are imported.
import { parseCsv } from '../lib/csv.ts';
import { normaliseCategory } from '../transform/standardise.ts';

export interface ProductInput {
  product_id: string;
  title: string;
  description: string;
  category: string;
  tags: string[];
  price: number;
  currency: string;
  stock: number;
  listed: number;
}

export interface RowProblem {
  line: number;
  field: string;
  reason: string;
}

export interface ParsedProducts {
  products: ProductInput[];
  problems: RowProblem[];
}

const COLUMNS: Record<keyof ProductInput, string[]> = {
  product_id: ['product_id', 'id', 'sku', 'productid'],
  title: ['title', 'name', 'product_name'],
  description: ['description', 'desc', 'body'],
  category: ['category', 'categories', 'category_path', 'product_type'],
  tags: ['tags', 'keywords'],
  price: ['price', 'unit_price'],
  currency: ['currency', 'price_currency'],
  stock: ['stock', 'inventory', 'quantity', 'qty'],
  listed: ['listed', 'published', 'active', 'visible'],
};

const norm = (h: string) => h.trim().toLowerCase().replace(/[\s-]+/g, '_');

function parseBool(v: string): number | null {
  const s = v.trim().toLowerCase();
  if (s === '' ) return 1;
  if (['1', 'true', 'yes', 'y', 'on', 'listed'].includes(s)) return 1;
  if (['0', 'false', 'no', 'n', 'off', 'unlisted'].includes(s)) return 0;
  return null;
}

export function parseProductsCsv(text: string, defaultCurrency: string): ParsedProducts {
  const records = parseCsv(text);
  const header = records.shift();
  if (!header) throw new Error('the file is empty');
  const names = header.fields.map(norm);
  const index = {} as Record<keyof ProductInput, number>;
  for (const [key, aliases] of Object.entries(COLUMNS) as Array<[keyof ProductInput, string[]]>) index[key] = names.findIndex((n) => aliases.includes(n));
  const missing = (['product_id', 'title', 'price'] as const).filter((k) => index[k] < 0);
  if (missing.length) throw new Error(`the header needs columns ${missing.join(', ')} (found: ${header.fields.join(', ')})`);

  const products: ProductInput[] = [];
  const problems: RowProblem[] = [];
  const seen = new Map<string, number>();
  for (const { line, fields } of records) {
    const get = (k: keyof ProductInput) => (index[k] >= 0 ? (fields[index[k]] ?? '').trim() : '');
    const problem = (field: string, reason: string) => problems.push({ line, field, reason });
    const id = get('product_id');
    if (!id) { problem('product_id', 'is empty'); continue; }
    if (id.length > 128) { problem('product_id', 'is longer than 128 characters'); continue; }
    const title = get('title');
    if (!title) { problem('title', 'is empty'); continue; }
    const priceText = get('price').replace(/^[^\d-]+/, '');
    const price = Number(priceText);
    if (!priceText || !Number.isFinite(price) || price < 0 || price > 1e9) { problem('price', `'${get('price')}' is not a price`); continue; }
    const currency = (get('currency') || defaultCurrency).toUpperCase();
    if (!/^[A-Z]{3}$/.test(currency)) { problem('currency', `'${get('currency')}' is not a 3-letter currency code`); continue; }
    const stockText = get('stock');
    const stock = stockText === '' ? 0 : Number(stockText);
    if (!Number.isInteger(stock) || stock < 0 || stock > 2_000_000_000) { problem('stock', `'${stockText}' is not a whole number of items`); continue; }
    const listed = parseBool(get('listed'));
    if (listed === null) { problem('listed', `'${get('listed')}' is not yes/no`); continue; }
    const tags = [...new Set(get('tags').split(/[|;,]/).map((t) => t.trim().toLowerCase()).filter(Boolean))].slice(0, 32);
    if (seen.has(id)) problem('product_id', `'${id}' appears again (first on line ${seen.get(id)}); the later row wins`);
    seen.set(id, line);
    products.push({ product_id: id, title: title.slice(0, 512), description: get('description').slice(0, 10_000), category: normaliseCategory(get('category')), tags, price, currency, stock, listed });
  }
  // Later rows win for a repeated id.
  const byId = new Map(products.map((p) => [p.product_id, p]));
  return { products: [...byId.values()], problems };
}
