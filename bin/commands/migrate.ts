import type { CliContext } from '../../lib/cli-context.ts';
import { connectClickHouse } from '../../lib/clickhouse.ts';
import { migrate } from '../../lib/migrate.ts';
import { refuseIfHeld } from '../store-guard.ts';

export async function run(_argv: string[], ctx: CliContext): Promise<void> {
  refuseIfHeld(ctx.config, 'migrate');
  const ch = await connectClickHouse(ctx.config);
  try {
    const applied = await migrate(ch, ctx.log);
    ctx.out(applied.length ? `applied migrations: ${applied.join(', ')}` : 'schema is up to date');
  } finally {
    await ch.close();
  }
}
