// `cvm import transactions FILE --format cdnow|online-retail|generic`: back-fills purchase history from a
// shop export straight into ClickHouse through the transformer's own code (validation, currency, country,
// dead letters). Re-running the same file stores nothing twice.
import crypto from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { CliContext } from '../../lib/cli-context.ts';
import { UserError } from '../../lib/cli-context.ts';
import { openStore } from '../runtime.ts';
import { refuseIfHeld } from '../store-guard.ts';
import { EventsTransformer } from '../../transform/events.consumer.ts';
import { FORMATS, detectFormat, type TransactionFormat } from '../../models/transactions/readers.ts';
import { TransactionFileError } from '../../models/transactions/errors.ts';
import { onlineRetailEvents, simpleEvents, type ImportedEvent, type ImportedProduct } from '../../ingest/import/shop-export.ts';
import type { CollectedRecord } from '../../ingest/contract.ts';
import type { StoredRecord } from '../../lib/eventlog/types.ts';

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
    const transformer = new EventsTransformer({ ch, config: ctx.config, log: ctx.log });
    await transformer.refreshFx();
    // Offsets on a per-file topic make re-imports idempotent through the transformer's high-water marks.
    const topic = `import:${crypto.createHash('sha1').update(path.resolve(file)).digest('hex').slice(0, 12)}`;
    const products = new Map<string, ImportedProduct>();
    const source: AsyncGenerator<ImportedEvent[]> =
      format === 'online-retail'
        ? onlineRetailEvents(file, currency, products)
        : simpleEvents(file, { format, ...(values['customer-col'] ? { customerCol: values['customer-col'] } : {}), ...(values['date-col'] ? { dateCol: values['date-col'] } : {}), ...(values['amount-col'] ? { amountCol: values['amount-col'] } : {}) }, currency);
    let offset = 0;
    let pending: StoredRecord[] = [];
    const flush = async () => {
      if (!pending.length) return;
      await transformer.handle({ topic, partition: 0, firstOffset: pending[0]!.offset, lastOffset: pending[pending.length - 1]!.offset, records: pending });
      pending = [];
    };
    for await (const events of source) {
      for (const e of events) {
        const rec: CollectedRecord = { v: 1, site: ctx.config.keys.demoSite, received_at: e.tsMs, source: 'import', event: e.event };
        pending.push({ offset: offset++, key: '', value: JSON.stringify(rec), timestamp: e.tsMs });
        if (pending.length >= 20_000) await flush();
      }
    }
    await flush();
    if (products.size) {
      await ch.insert('products', [...products.values()].map((p) => ({ product_id: p.product_id, title: p.title, category: '', price: p.price, currency: p.currency, stock: 1000, listed: 1 })));
    }
    const s = transformer.stats;
    const report = { file, format, currency, events: offset, stored: s.eventsOut, rejected: s.rejected, duplicates_skipped: offset - s.eventsOut - s.rejected, products: products.size, seconds: (Date.now() - t0) / 1000 };
    ctx.out(values.json ? JSON.stringify(report) : `imported ${report.stored} events (${report.rejected} rejected, ${report.duplicates_skipped} already stored) from ${file} in ${report.seconds.toFixed(1)} s`);
    return 0;
  } catch (err) {
    if (err instanceof TransactionFileError) throw new UserError(err.message);
    throw err;
  } finally {
    await ch.close();
  }
}
