// `cvm import transactions FILE --format cdnow|online-retail|generic`: back-fills purchase history from a
// shop export straight into ClickHouse through the transformer's own steps (validation, currency, country,
// dead letters; transform/import-records.ts). Re-running the same file stores nothing twice.
import crypto from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { CliContext } from '../../lib/cli-context.ts';
import { UserError } from '../../lib/cli-context.ts';
import { openStore } from '../runtime.ts';
import { refuseIfHeld } from '../store-guard.ts';
import { importRecords } from '../../transform/import-records.ts';
import { FORMATS, detectFormat, type TransactionFormat } from '../../ingest/transactions/readers.ts';
import { TransactionFileError } from '../../ingest/transactions/errors.ts';
import { onlineRetailEvents, simpleEvents, type ImportedEvent, type ImportedProduct } from '../../ingest/import/shop-export.ts';
import type { CollectedRecord } from '../../ingest/contract.ts';

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string' }, currency: { type: 'string' }, 'customer-col': { type: 'string' }, 'date-col': { type: 'string' }, 'amount-col': { type: 'string' }, json: { type: 'boolean', default: false },
    },
  });
  const file = positionals[0];
  if (!file) throw new UserError('usage: cvm import transactions FILE --format cdnow|online-retail|generic [--currency USD]');
  if (values.format && !(FORMATS as readonly string[]).includes(values.format)) throw new UserError(`--format must be one of ${FORMATS.join(', ')}`);
  refuseIfHeld(ctx.config, 'import transactions');
  let format = values.format as TransactionFormat | undefined;
  try {
    format ??= (await detectFormat(file)) ?? (values['customer-col'] ? 'generic' : undefined);
  } catch (err) {
    if (err instanceof TransactionFileError) throw new UserError(err.message);
    throw err;
  }
  if (!format) throw new UserError(`cannot tell the layout of ${file}; pass --format`);
  const currency = (values.currency ?? (format === 'online-retail' ? 'GBP' : 'USD')).toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency)) throw new UserError('--currency must be a 3-letter code');

  const ch = await openStore(ctx.config, ctx.log);
  const t0 = Date.now();
  try {
    // The file's identity: its rows carry it as their source, so a re-import finds what is stored.
    const importSource = `import:${crypto.createHash('sha1').update(path.resolve(file)).digest('hex').slice(0, 12)}`;
    const products = new Map<string, ImportedProduct>();
    const events: AsyncGenerator<ImportedEvent[]> =
      format === 'online-retail'
        ? onlineRetailEvents(file, currency, products)
        : simpleEvents(file, { format, ...(values['customer-col'] ? { customerCol: values['customer-col'] } : {}), ...(values['date-col'] ? { dateCol: values['date-col'] } : {}), ...(values['amount-col'] ? { amountCol: values['amount-col'] } : {}) }, currency);
    const site = ctx.config.keys.demoSite;
    const counts = await importRecords({ ch, config: ctx.config }, importSource, collected(events, site));
    if (products.size) {
      await ch.insert('products', [...products.values()].map((p) => ({ product_id: p.product_id, title: p.title, category: '', price: p.price, currency: p.currency, stock: 1000, listed: 1 })));
    }
    const { records, stored, rejected } = counts;
    const report = { file, format, currency, events: records, stored, rejected, duplicates_skipped: records - stored - rejected, products: products.size, seconds: (Date.now() - t0) / 1000 };
    ctx.out(values.json ? JSON.stringify(report) : `imported ${report.stored} events (${report.rejected} rejected, ${report.duplicates_skipped} already stored) from ${file} in ${report.seconds.toFixed(1)} s`);
    return 0;
  } catch (err) {
    if (err instanceof TransactionFileError) throw new UserError(err.message);
    throw err;
  } finally {
    await ch.close();
  }
}

/** Shop-export events as the collector would have recorded them, received when they happened. */
async function* collected(events: AsyncGenerator<ImportedEvent[]>, site: string): AsyncGenerator<CollectedRecord[]> {
  for await (const batch of events) yield batch.map((e) => ({ v: 1, site, received_at: e.tsMs, source: 'import', event: e.event }));
}
