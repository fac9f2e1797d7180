// `cvm models run NAME`: runs model jobs on a stopped store (or a ClickHouse server).
import type { CliContext } from '../cli.ts';
import { UserError } from '../cli.ts';
import { openStore } from '../runtime.ts';
import { refuseIfHeld } from '../store-guard.ts';
import { ModelRunner, UnknownModelError } from '../../models/runner.ts';
import { modelJobs } from '../../models/registry.ts';

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const name = argv[0];
  if (!name) throw new UserError('name a model: cvm models run rfm|clv|churn|recs|all');
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
      runs = await runner.run(name);
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
