// `cvm models run NAME`: runs model jobs on a stopped store (or a ClickHouse server); while a cvm holds the
// embedded store, that cvm runs them (POST /v1/models/NAME/run) and this command prints its answer.
import { parseArgs } from 'node:util';
import { UserError, type CliContext } from '../../lib/cli-context.ts';
import { openStore } from '../runtime.ts';
import { queryHolder, describeHolder, type Held } from '../instance-lock.ts';
import { postToHolder } from '../server-call.ts';
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
  // A running cvm holds the embedded store: it runs the jobs (its runner, its lock), this command waits.
  const held = ctx.config.clickhouse.url ? null : await queryHolder(ctx.config.dataDir);
  if (held) return runOnServer(ctx, held, name, values['as-of']);
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

async function runOnServer(ctx: CliContext, held: Held, name: string, asOf: string | undefined): Promise<number> {
  const query = asOf === undefined ? '' : `?as_of=${encodeURIComponent(asOf)}`;
  const res = await postToHolder(ctx, held, `/v1/models/${encodeURIComponent(name)}/run${query}`, {});
  const body = JSON.parse(res.body || '{}') as { runs?: Array<{ status: string }>; message?: string };
  if (res.status === 404 || res.status === 400) throw new UserError(body.message ?? res.body);
  if (!body.runs) throw new UserError(`the running cvm (${describeHolder(held)}) answered ${res.status}: ${body.message ?? res.body}`);
  ctx.out(JSON.stringify({ runs: body.runs, via: `the running cvm (${describeHolder(held)})` }, null, 2));
  return body.runs.every((r) => r.status === 'ok') ? 0 : 1;
}
