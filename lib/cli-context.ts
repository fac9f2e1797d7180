// What every `cvm` command receives, and the error it throws for the person at the terminal. Lives in
// lib/ so command modules anywhere in the tree (models/, dashboards/) can use it without importing bin/.
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

export interface CliContext {
  config: Config;
  log: Logger;
  out: (line: string) => void;
}

/** An error whose message is meant for the person at the terminal; bin/cli.ts prints it without a stack. */
export class UserError extends Error {
  readonly userFacing = true;
}
