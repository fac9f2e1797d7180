// `cvm fx import rates.csv`: loads daily exchange rates (header day,currency,rate[,base]; base defaults to
// CVM_BASE_CURRENCY). A running transformer picks them up within a minute; the API route reloads at once.
import fs from 'node:fs';
import type { CliContext } from '../../lib/cli-context.ts';
import { UserError } from '../../lib/cli-context.ts';
import { openStore } from '../runtime.ts';
import { refuseIfHeld } from '../store-guard.ts';
import { importRates, parseRatesCsv } from '../../transform/fx.ts';
import { CLI_ACTOR, recordAudit } from '../../lib/audit.ts';

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const file = argv[0];
  if (!file || argv.length > 1) throw new UserError('usage: cvm fx import rates.csv   (CSV header: day,currency,rate[,base])');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let rows;
  try {
    rows = parseRatesCsv(text, ctx.config.baseCurrency);
  } catch (err) {
    throw new UserError(`${file}: ${(err as Error).message}`);
  }
  refuseIfHeld(
    ctx.config,
    `fx import ${file}`,
    `curl -X POST -H "Authorization: Bearer $CVM_ADMIN_KEY" -H 'Content-Type: text/csv' --data-binary @${file} http://localhost:${ctx.config.port}/v1/admin/fx/rates`,
  );
  const ch = await openStore(ctx.config, ctx.log);
  try {
    const res = await importRates(ch, rows);
    await recordAudit(ch, CLI_ACTOR, 'fx.import', 'fx_rates', { file, rows: res.rows, currencies: res.currencies, days: res.days });
    ctx.out(`imported ${res.rows} rate(s) for ${res.currencies.join(', ') || 'no currencies'}${res.days ? ` from ${res.days.first} to ${res.days.last}` : ''}`);
    return 0;
  } finally {
    await ch.close();
  }
}
