// Commands that open the embedded store refuse while a running cvm holds it, and name the API call to use.
import type { Config } from '../lib/config.ts';
import { UserError } from '../lib/cli-context.ts';
import { lockHolder } from './pid-lock.ts';

export function refuseIfHeld(config: Config, what: string, apiHint?: string): void {
  if (config.clickhouse.url) return;
  const pid = lockHolder(config.dataDir);
  if (pid === null) return;
  throw new UserError(
    `a running cvm (pid ${pid}) holds the embedded store in ${config.dataDir}, and chDB allows one process per data directory.` +
      (apiHint ? `\nUse the running server instead:\n  ${apiHint}` : `\nStop it first, then run 'cvm ${what}' again.`),
  );
}
