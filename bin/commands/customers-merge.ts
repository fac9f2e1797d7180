// `cvm customers merge FROM INTO` records that two customer ids are one person (FROM's history counts for
// INTO from then on, at query time); `cvm customers merge --undo MERGE_ID` takes it back; `--list` shows merges.
import { parseArgs } from 'node:util';
import { UserError, type CliContext } from '../../lib/cli-context.ts';
import { openStore } from '../runtime.ts';
import { refuseIfHeld } from '../store-guard.ts';
import { CLI_ACTOR } from '../../lib/audit.ts';
import { listMerges, mergeCustomers, MergeError, undoMerge } from '../../transform/merges.ts';

const USAGE = 'usage: cvm customers merge FROM INTO | cvm customers merge --undo MERGE_ID | cvm customers merge --list';

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { undo: { type: 'string' }, list: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
  const [from, into] = positionals;
  if (!values.list && !values.undo && (!from || !into || positionals.length !== 2)) throw new UserError(USAGE);
  const base = `http://localhost:${ctx.config.port}/v1/admin/customers`;
  const auth = '-H "Authorization: Bearer $CVM_ADMIN_KEY"';
  const hint = values.list
    ? `curl ${auth} ${base}/merges`
    : values.undo
      ? `curl -X POST ${auth} ${base}/merge/${values.undo}/undo`
      : `curl -X POST ${auth} -H 'Content-Type: application/json' -d '${JSON.stringify({ from, into })}' ${base}/merge`;
  refuseIfHeld(ctx.config, `customers merge ${argv.join(' ')}`, hint);
  const ch = await openStore(ctx.config, ctx.log);
  try {
    if (values.list) {
      const merges = await listMerges(ch);
      if (values.json) ctx.out(JSON.stringify({ merges }, null, 2));
      else for (const m of merges) ctx.out(`${m.merge_id}  ${m.at}  ${m.from_customer_id} -> ${m.into_customer_id}${m.undone ? '  [undone]' : ''}`);
      return 0;
    }
    const merge = values.undo ? await undoMerge(ch, values.undo, CLI_ACTOR) : await mergeCustomers(ch, { from, into, actor: CLI_ACTOR });
    ctx.out(values.json ? JSON.stringify({ merge }) : values.undo ? `undid merge ${merge.merge_id} (${merge.from_customer_id} -> ${merge.into_customer_id})` : `merged ${merge.from_customer_id} into ${merge.into_customer_id} (merge ${merge.merge_id}; undo with: cvm customers merge --undo ${merge.merge_id})`);
    return 0;
  } catch (err) {
    if (err instanceof MergeError) throw new UserError(err.message);
    throw err;
  } finally {
    await ch.close();
  }
}
