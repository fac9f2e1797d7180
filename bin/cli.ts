// cvm's command line. Each command is a module with `run(argv, ctx)`, loaded only when called.
import { loadConfig, ConfigError, type Config } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';
import type { CliContext } from '../lib/cli-context.ts';

type CommandModule = { run(argv: string[], ctx: CliContext): Promise<number | void> };

interface CommandEntry {
  summary: string;
  load: () => Promise<CommandModule>;
}

// Longest match wins: 'models run' before 'models'.
const COMMANDS: Record<string, CommandEntry> = {
  start: { summary: 'run every role in one process (embedded; demo data on first run)', load: () => import('./commands/start.ts') },
  collector: { summary: 'run the collector role only', load: () => import('./commands/roles.ts').then((m) => m.collector) },
  transformer: { summary: 'run the transformer role only', load: () => import('./commands/roles.ts').then((m) => m.transformer) },
  scheduler: { summary: 'run the model scheduler role only', load: () => import('./commands/roles.ts').then((m) => m.scheduler) },
  api: { summary: 'run the API role only (with dashboards and storefront)', load: () => import('./commands/roles.ts').then((m) => m.api) },
  migrate: { summary: 'apply ClickHouse migrations', load: () => import('./commands/migrate.ts') },
  backup: { summary: 'backup [--to DIR] — tables, event log, keys and settings into DIR/cvm-backup-<time> (default CVM_BACKUP_DIR); asks a running cvm to make it', load: () => import('./commands/backup.ts') },
  restore: { summary: 'restore DIR [--force] — a backup into an empty CVM_DATA_DIR (--force moves a non-empty one aside)', load: () => import('./commands/restore.ts') },
  'models run': { summary: 'models run rfm|clv|churn|recs|all — run model jobs on a stopped store', load: () => import('./commands/models-run.ts') },
  'clv fit': { summary: 'fit BG/NBD + Gamma-Gamma on a transaction file', load: () => import('../models/clv/clv-fit.command.ts') },
  'churn evaluate': { summary: 'backtest churn models on a transaction file', load: () => import('../models/churn/churn-evaluate.command.ts') },
  'recs evaluate': { summary: 'offline evaluation of recommenders on an interaction file', load: () => import('../models/recs/recs-evaluate.command.ts') },
  'import transactions': { summary: 'back-fill purchase history from a shop export', load: () => import('./commands/import-transactions.ts') },
  'import products': { summary: 'import products FILE — load or update the shop catalogue from a CSV', load: () => import('./commands/import-products.ts') },
  'demo traffic': { summary: 'demo traffic --visitors N --days D [--url URL] — simulated shoppers through the shop and collector', load: () => import('./commands/demo-traffic.ts') },
  rejects: { summary: 'rejects list|replay — inspect the dead letter and replay rejects after a fix', load: () => import('./commands/rejects.ts') },
  'fx import': { summary: 'fx import rates.csv — load daily exchange rates (day,currency,rate[,base])', load: () => import('./commands/fx.ts') },
  'customers merge': { summary: 'customers merge FROM INTO | --undo ID | --list — one person, two customer ids', load: () => import('./commands/customers-merge.ts') },
  'dashboards export-grafana': { summary: 'dashboards export-grafana [--out DIR] [--lang en|zh-CN] [--ui-url URL] — panel files as Grafana dashboards', load: () => import('../dashboards/export-grafana.command.ts') },
  bench: { summary: 'run the benchmarks', load: () => import('../bench/run.ts') },
  'keys create': { summary: 'keys create --role storefront|analyst|admin|write [--name N] [--site S --origins a,b] — print a new API key once', load: () => import('./commands/keys.ts').then((m) => m.create) },
  'keys identity-secret': { summary: 'keys identity-secret [--site S] — the secret a shop back end signs customer ids with (identity verification)', load: () => import('./commands/keys.ts').then((m) => m.identitySecret) },
  'keys list': { summary: 'list API keys (never the keys themselves)', load: () => import('./commands/keys.ts').then((m) => m.list) },
  'keys revoke': { summary: 'keys revoke KEY_ID — revoke an API key', load: () => import('./commands/keys.ts').then((m) => m.revoke) },
  'keys rotate-encryption': { summary: 'keys rotate-encryption [--new-key HEX] — new CVM_ENCRYPTION_KEY: data keys re-wrapped, the old key no longer needed (store stopped)', load: () => import('./commands/keys-encryption.ts').then((m) => m.rotateEncryption) },
  'keys rotate-admin': { summary: 'replace the bootstrap admin key (data/admin.key); the old one stops working, also in a running cvm', load: () => import('./commands/keys.ts').then((m) => m.rotateAdmin) },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  cvm ${name.padEnd(22)} ${c.summary}`);
  return `Usage: cvm <command> [options]\n\nCommands:\n${lines.join('\n')}\n`;
}

export function findCommand(argv: string[]): { name: string; entry: CommandEntry; rest: string[] } | null {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    // Own keys only: `cvm constructor` must be an unknown command, not Object.prototype's.
    const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (entry && argv.length >= words) return { name, entry, rest: argv.slice(words) };
  }
  return null;
}

export async function main(argv: string[]): Promise<void> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    process.stdout.write(usage());
    return;
  }
  const found = findCommand(argv);
  if (!found) {
    process.stderr.write(`cvm: unknown command '${argv.join(' ')}'\n\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`cvm: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  // Logs go to stderr so commands can print JSON on stdout.
  const log = initLogging({ level: config.logLevel, destination: (await import('pino')).default.destination(2) });
  const ctx: CliContext = { config, log, out: (line) => process.stdout.write(line + '\n') };
  try {
    const mod = await found.entry.load();
    const code = await mod.run(found.rest, ctx);
    if (typeof code === 'number') process.exitCode = code;
  } catch (err) {
    const e = err as Error & { userFacing?: boolean };
    if (e.userFacing) {
      process.stderr.write(`cvm ${found.name}: ${e.message}\n`);
      process.exitCode = 1;
    } else {
      log.error({ err }, `cvm ${found.name} failed`);
      process.stderr.write(`cvm ${found.name}: ${e.message}\n`);
      process.exitCode = 1;
    }
  }
}
