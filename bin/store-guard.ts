// Commands that open the embedded store refuse while a running cvm holds it, and name the API call to use.
import type { Config } from '../lib/config.ts';
import { UserError } from '../lib/cli-context.ts';
import { describeHolder, queryHolderSync } from './instance-lock.ts';

export function refuseIfHeld(config: Config, what: string, apiHint?: string): void {
  if (config.clickhouse.url) return;
  const held = queryHolderSync(config.dataDir);
  if (held === null) return;
  // The hint is written for this shell's PORT; the holder says where it really serves.
  const url = held.info?.url;
  const hint = apiHint && url ? apiHint.split(`http://localhost:${config.port}`).join(url) : apiHint;
  throw new UserError(
    `a running cvm (${describeHolder(held)}) holds the embedded store in ${config.dataDir}, and chDB allows one process per data directory.` +
      (hint ? `\nUse the running server instead:\n  ${hint}` : `\nStop it first, then run 'cvm ${what}' again.`),
  );
}
