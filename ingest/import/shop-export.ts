// Shop exports → contract events. A whole invoice becomes one purchase (its lines the items), a
// cancellation becomes a refund; event ids are derived from the file's content so a re-import folds
// into the same rows instead of doubling them.
import { sha1Uuid } from '../../lib/ids.ts';
import { headedRecords, columnIndex, readTransactions, type ReadOptions, type TransactionFormat } from '../transactions/readers.ts';
import { parseDay } from '../transactions/dates.ts';

export interface ImportedEvent {
  event: Record<string, unknown>;
  tsMs: number;
}

export interface ImportedProduct { product_id: string; title: string; price: number; currency: string }

export function stableUuid(...parts: string[]): string {
  return sha1Uuid(parts.join('\u0000'));
}

function isoOf(text: string): number {
  const t = Date.parse(/^\d{4}-\d{2}-\d{2} /.test(text) ? text.replace(' ', 'T') + 'Z' : text);
  return Number.isFinite(t) ? t : parseDay(text) * 86_400_000;
}

const normaliseId = (s: string) => (/^\d+(\.0*)?$/.test(s.trim()) ? String(Number.parseInt(s, 10)) : s.trim());

/**
 * UCI-style invoice lines (InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country).
 * Rows without a customer are kept as anonymous purchases: they count for revenue, not for customer models.
 */
export async function* onlineRetailEvents(file: string, currency: string, products: Map<string, ImportedProduct>): AsyncGenerator<ImportedEvent[]> {
  let cols: Record<'inv' | 'code' | 'desc' | 'qty' | 'date' | 'price' | 'cust' | 'country', number> | null = null;
  // Invoices are contiguous in these exports; flush an invoice when the next one starts.
  let current: { inv: string; ts: number; cust: string; country: string; lines: Array<{ code: string; qty: number; price: number }> } | null = null;
  const flush = (): ImportedEvent | null => {
    if (!current) return null;
    const c = current;
    current = null;
    const who = c.cust ? { customer_id: c.cust } : { anonymous_id: `import-${c.inv}` };
    const context = c.country ? { country: c.country } : {};
    if (/^c/i.test(c.inv) || c.lines.every((l) => l.qty < 0)) {
      const amount = Math.round(c.lines.reduce((s, l) => s + Math.abs(l.qty) * l.price, 0) * 100) / 100;
      if (!(amount > 0)) return null;
      return { tsMs: c.ts, event: { event_id: stableUuid(file, c.inv, 'refund'), type: 'refund', ts: new Date(c.ts).toISOString(), ...who, context, properties: { order_id: c.inv, amount, currency, source: 'import' } } };
    }
    const items = c.lines.filter((l) => l.qty > 0 && l.price > 0).map((l) => ({ product_id: l.code, quantity: l.qty, price: l.price }));
    if (items.length === 0) return null;
    const total = Math.round(items.reduce((s, i) => s + i.quantity * i.price, 0) * 100) / 100;
    return { tsMs: c.ts, event: { event_id: stableUuid(file, c.inv, 'purchase'), type: 'purchase', ts: new Date(c.ts).toISOString(), ...who, context, properties: { order_id: c.inv, items: items.slice(0, 500), total, currency, source: 'import' } } };
  };
  for await (const { header, records } of headedRecords(file)) {
    cols ??= {
      inv: columnIndex(header, ['InvoiceNo', 'Invoice'], file, 'invoice'),
      code: columnIndex(header, ['StockCode'], file, 'stock code'),
      desc: columnIndex(header, ['Description'], file, 'description'),
      qty: columnIndex(header, ['Quantity'], file, 'quantity'),
      date: columnIndex(header, ['InvoiceDate'], file, 'invoice date'),
      price: columnIndex(header, ['UnitPrice', 'Price'], file, 'unit price'),
      cust: columnIndex(header, ['CustomerID', 'Customer ID'], file, 'customer id'),
      country: columnIndex(header, ['Country'], file, 'country'),
    };
    const out: ImportedEvent[] = [];
    for (const rec of records) {
      if (rec.length < header.length) continue;
      const inv = rec[cols.inv]!.trim();
      const qty = Number(rec[cols.qty]);
      const price = Number(rec[cols.price]);
      const ts = isoOf(rec[cols.date]!.trim());
      if (!inv || !Number.isFinite(qty) || !Number.isFinite(price) || !Number.isFinite(ts)) continue;
      const code = rec[cols.code]!.trim().toUpperCase();
      if (current === null || current.inv !== inv) {
        const done = flush();
        if (done) out.push(done);
        current = { inv, ts, cust: rec[cols.cust]!.trim() ? normaliseId(rec[cols.cust]!) : '', country: rec[cols.country]!.trim(), lines: [] };
      }
      current!.lines.push({ code, qty, price });
      const desc = rec[cols.desc]!.trim();
      if (price > 0 && desc) products.set(code, { product_id: code, title: desc.slice(0, 200), price, currency });
    }
    if (out.length) yield out;
  }
  const last = flush();
  if (last) yield [last];
}

/** CDNOW and generic files: one purchase (or refund, for negative amounts) per customer-day row. */
export async function* simpleEvents(file: string, opts: ReadOptions & { format: TransactionFormat }, currency: string): AsyncGenerator<ImportedEvent[]> {
  let line = 0;
  for await (const rows of readTransactions(file, opts)) {
    const out: ImportedEvent[] = [];
    for (const r of rows) {
      line++;
      const ts = r.day * 86_400_000 + 12 * 3600_000;
      const id = stableUuid(file, String(line));
      const amount = Math.round(Math.abs(r.amount) * 100) / 100;
      const orderId = `imp-${id.slice(0, 13)}`;
      if (!r.purchase || r.amount < 0) {
        if (amount > 0) out.push({ tsMs: ts, event: { event_id: id, type: 'refund', ts: new Date(ts).toISOString(), customer_id: r.customer, properties: { order_id: orderId, amount, currency, source: 'import' } } });
        continue;
      }
      out.push({
        tsMs: ts,
        event: { event_id: id, type: 'purchase', ts: new Date(ts).toISOString(), customer_id: r.customer, properties: { order_id: orderId, items: [{ product_id: 'imported', quantity: 1, price: amount }], total: amount, currency, source: 'import' } },
      });
    }
    if (out.length) yield out;
  }
}
