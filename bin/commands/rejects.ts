// `cvm rejects list [--reason R] [--limit N] [--all] [--json]` and `cvm rejects replay [--reason R | --id ID ...]`:
// inspect the dead letter and send rejects through the transformer again after a fix.
import { parseArgs } from 'node:util';
import { UserError, type CliContext } from '../../lib/cli-context.ts';
import { openStore } from '../runtime.ts';
import { refuseIfHeld } from '../store-guard.ts';
import { openEventLog } from '../../lib/eventlog/index.ts';
import { CLI_ACTOR } from '../../lib/audit.ts';
import { listRejects, replayRejects, RejectsRequestError } from '../../transform/rejects.ts';

const USAGE = 'usage: cvm rejects list [--reason R] [--limit N] [--all] [--json]\n       cvm rejects replay [--reason R | --id ID ...] [--json]';

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'list') return list(rest, ctx);
  if (sub === 'replay') return replay(rest, ctx);
  throw new UserError(USAGE);
}

const api = (ctx: CliContext, pathAndQuery: string, body?: string) =>
  `curl ${body ? `-X POST -H 'Content-Type: application/json' -d '${body}' ` : ''}-H "Authorization: Bearer $CVM_ADMIN_KEY" 'http://localhost:${ctx.config.port}${pathAndQuery}'`;

async function list(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { reason: { type: 'string' }, limit: { type: 'string', default: '50' }, all: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UserError('--limit must be an integer from 1 to 10000');
  const query = new URLSearchParams({ limit: String(limit), ...(values.reason ? { reason: values.reason } : {}), ...(values.all ? { all: 'true' } : {}) });
  refuseIfHeld(ctx.config, 'rejects list', api(ctx, `/v1/admin/rejects?${query}`));
  const ch = await openStore(ctx.config, ctx.log);
  try {
    const res = await listRejects(ch, { reason: values.reason ?? '', limit, all: values.all ?? false });
    if (values.json) {
      ctx.out(JSON.stringify(res, null, 2));
      return 0;
    }
    ctx.out(`${res.matching} reject(s)${values.reason ? ` matching '${values.reason}'` : ''}${values.all ? '' : ' not yet replayed'}; showing ${res.rejects.length}`);
    for (const r of res.rejects) {
      ctx.out(`${r.reject_id}  ${r.rejected_at}  ${r.source.padEnd(9)} ${r.site || '-'}  ${r.field}: ${r.reason}${r.replayed ? '  [replayed]' : ''}`);
      ctx.out(`    ${r.raw.length > 160 ? r.raw.slice(0, 157) + '...' : r.raw}`);
    }
    return 0;
  } finally {
    await ch.close();
  }
}

async function replay(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { reason: { type: 'string' }, id: { type: 'string', multiple: true }, json: { type: 'boolean', default: false } } });
  const ids = values.id ?? [];
  if (!values.reason && ids.length === 0) throw new UserError(`name the rejects to replay with --reason or --id\n${USAGE}`);
  const body = JSON.stringify(values.reason ? { reason: values.reason, ...(ids.length ? { ids } : {}) } : { ids });
  refuseIfHeld(ctx.config, 'rejects replay', api(ctx, '/v1/admin/rejects/replay', body));
  const ch = await openStore(ctx.config, ctx.log);
  const eventLog = await openEventLog(ctx.config, ctx.log);
  try {
    const res = await replayRejects({ ch, config: ctx.config, eventLog }, { ...(values.reason ? { reason: values.reason } : {}), ids, actor: CLI_ACTOR });
    ctx.out(values.json ? JSON.stringify(res) : `replayed ${res.replayed} reject(s) into the event log; the transformer stores them on its next run (cvm start)`);
    return 0;
  } catch (err) {
    if (err instanceof RejectsRequestError) throw new UserError(err.message);
    throw err;
  } finally {
    await eventLog.close();
    await ch.close();
  }
}
