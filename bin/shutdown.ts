// SIGTERM / SIGINT for every long-running command (`cvm start` and the role commands): the first signal
// drains (runtime.close(): the collector answers 503 draining, in-flight requests finish, the transformer
// commits the batch in hand, the store closes) and exits 0, bounded by CVM_SHUTDOWN_TIMEOUT_S, past which it
// exits 1; a second signal exits at once, 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as a
// shell reports a process killed by it. Nothing acknowledged is lost either way: the log holds it durably.
import os from 'node:os';
import type { Logger } from '../lib/logger.ts';
import type { Runtime } from './runtime.ts';

export interface ShutdownOptions {
  log: Logger;
  /** CVM_SHUTDOWN_TIMEOUT_S: how long the drain may take. */
  timeoutS: number;
  /** Runs after the runtime closed, before the exit (e.g. giving up the data directory's lock). */
  afterClose?: () => void | Promise<void>;
  /** process.exit unless a test says otherwise. */
  exit?: (code: number) => void;
  signals?: NodeJS.Signals[];
}

export interface Shutdown {
  /** What a signal does; resolves when the process would exit (with `exit` given, it then does). */
  begin(signal: NodeJS.Signals): Promise<void>;
  /** Removes the signal handlers (tests). */
  uninstall(): void;
}

/** The exit code for a second signal: 128 + its number. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (os.constants.signals[signal] ?? 15);
}

export function installShutdown(runtime: Pick<Runtime, 'close'>, opts: ShutdownOptions): Shutdown {
  const { log, timeoutS } = opts;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
  let draining: Promise<void> | null = null;

  const begin = (signal: NodeJS.Signals): Promise<void> => {
    if (draining) {
      log.warn({ signal }, 'second signal: exiting now, without finishing the shutdown');
      exit(signalExitCode(signal));
      return draining;
    }
    log.info({ signal, timeoutS }, 'draining: refusing new events, finishing requests and the batch in hand');
    const started = Date.now();
    // Not unref'd: this timer is what ends a drain that hangs.
    const timer = setTimeout(() => {
      log.error({ timeoutS }, 'shutdown did not finish within CVM_SHUTDOWN_TIMEOUT_S; exiting (the log keeps what was not stored)');
      exit(1);
    }, timeoutS * 1000);
    draining = (async () => {
      let code = 0;
      try {
        await runtime.close();
        await opts.afterClose?.();
        log.info({ ms: Date.now() - started }, 'stopped');
      } catch (err) {
        log.error({ err }, 'shutdown failed');
        code = 1;
      }
      clearTimeout(timer);
      exit(code);
    })();
    return draining;
  };

  const handlers = signals.map((s) => [s, () => void begin(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  return {
    begin,
    uninstall: () => {
      for (const [s, h] of handlers) process.off(s, h);
    },
  };
}
