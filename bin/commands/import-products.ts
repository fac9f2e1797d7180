// `cvm import products FILE [--currency USD] [--json]`: loads or updates the shop's catalogue from a CSV
// (columns product_id, title, description, category, tags, price, currency, stock, listed). A row's
// stock becomes the product's available stock from now on. Bad rows are listed and left out.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import type { CliContext } from '../../lib/cli-context.ts';
import { UserError } from '../../lib/cli-context.ts';
import { openStore } from '../runtime.ts';
import { refuseIfHeld } from '../store-guard.ts';
import { parseProductsCsv } from '../../storefront/products-csv.ts';
import { writeProducts } from '../../storefront/shop.ts';
import { FxTable } from '../../transform/fx.ts';

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { currency: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const file = positionals[0];
  if (!file) throw new UserError('usage: cvm import products FILE [--currency USD] [--json]');
  const currency = (values.currency ?? ctx.config.baseCurrency).toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency)) throw new UserError('--currency must be a 3-letter code');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed;
  try {
    parsed = parseProductsCsv(text, currency);
  } catch (err) {
    throw new UserError(`${file}: ${(err as Error).message}`);
  }
  refuseIfHeld(
    ctx.config,
    'import products',
    `curl -X POST -H 'Authorization: Bearer <admin key>' -H 'Content-Type: text/csv' --data-binary @${file} http://${ctx.config.host}:${ctx.config.port}/v1/shop/products/import`,
  );
  const t0 = Date.now();
  const ch = await openStore(ctx.config, ctx.log);
  try {
    const fx = await FxTable.load(ch);
    const unknown = [...new Set(parsed.products.map((p) => p.currency))].filter((c) => fx.rate(c, ctx.config.baseCurrency, Date.now()) === null);
    if (unknown.length) throw new UserError(`no exchange rate for ${unknown.join(', ')} to ${ctx.config.baseCurrency}; import rates first`);
    await writeProducts({ ch }, parsed.products, Date.now());
    const report = { file, imported: parsed.products.length, problems: parsed.problems, seconds: (Date.now() - t0) / 1000 };
    if (values.json) ctx.out(JSON.stringify(report));
    else {
      ctx.out(`imported ${report.imported} products from ${file} in ${report.seconds.toFixed(1)} s`);
      for (const p of parsed.problems.slice(0, 50)) ctx.out(`  line ${p.line}: ${p.field} ${p.reason}`);
      if (parsed.problems.length > 50) ctx.out(`  … and ${parsed.problems.length - 50} more`);
    }
    return parsed.products.length === 0 && parsed.problems.length > 0 ? 1 : 0;
  } finally {
    await ch.close();
  }
}
