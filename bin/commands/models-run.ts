// `cvm models run NAME`: runs model jobs on a stopped store (or a ClickHouse server).
import { parseArgs } from 'node:util';
import { UserError, type CliContext } from '../../lib/cli-context.ts';
import { openStore } from '../runtime.ts';
import { refuseIfHeld } from '../store-guard.ts';
import { ModelRunner, UnknownModelError } from '../../models/runner.ts';
import { modelJobs } from '../../models/registry.ts';
import { AsOfError, parseAsOf } from '../../models/as-of.ts';

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { 'as-of': { type: 'string' } } });
  const name = positionals[0];
  if (!name) throw new UserError('name a model: cvm models run rfm|clv|churn|recs|all [--as-of YYYY-MM-DD]');
  // Scoring "as of" a past day, for history imported from an old export; default now.
  let now = new Date();
  if (values['as-of'] !== undefined) {
    try {
      now = parseAsOf(values['as-of']);
    } catch (err) {
      if (err instanceof AsOfError) throw new UserError(`--as-of ${err.message}`);
      throw err;
    }
  }
  refuseIfHeld(
    ctx.config,
    `models run ${name}`,
    `curl -X POST -H "Authorization: Bearer $CVM_ADMIN_KEY" http://localhost:${ctx.config.port}/v1/models/${name}/run`,
  );
  const ch = await openStore(ctx.config, ctx.log);
  try {
    const runner = new ModelRunner({ ch, config: ctx.config, log: ctx.log });
    for (const job of await modelJobs()) runner.register(job);
    let runs;
    try {
      runs = await runner.run(name, now);
    } catch (err) {
      if (err instanceof UnknownModelError) throw new UserError(err.message);
      throw err;
    }
    ctx.out(JSON.stringify({ runs }, null, 2));
    return runs.every((r) => r.status === 'ok') ? 0 : 1;
  } finally {
    await ch.close();
  }
}
