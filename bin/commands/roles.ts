// One role per process, for the distributed deployment: Kafka for the log and a ClickHouse server.
import { UserError, type CliContext } from '../../lib/cli-context.ts';
import { startRuntime, type Roles } from '../runtime.ts';
import { installShutdown } from '../shutdown.ts';

function role(name: keyof Roles, needs: { kafka: boolean }) {
  return {
    async run(_argv: string[], ctx: CliContext): Promise<void> {
      const { config, log, out } = ctx;
      if (!config.clickhouse.url) throw new UserError(`cvm ${name} runs one role against a ClickHouse server: set CLICKHOUSE_URL (or use 'cvm start' for everything in one process)`);
      if (needs.kafka && !config.kafka) throw new UserError(`cvm ${name} runs against Kafka: set KAFKA_BROKERS (or use 'cvm start' for everything in one process)`);
      const roles: Roles = { collector: false, transformer: false, scheduler: false, api: false };
      roles[name] = true;
      const rt = await startRuntime(config, log, roles);
      out(`cvm ${name} running${rt.url ? ` at ${rt.url}` : ''}`);
      installShutdown(rt, { log, timeoutS: config.shutdown.timeoutS });
      await new Promise(() => {});
    },
  };
}

export const collector = role('collector', { kafka: true });
export const transformer = role('transformer', { kafka: true });
export const scheduler = role('scheduler', { kafka: false });
export const api = role('api', { kafka: false });
