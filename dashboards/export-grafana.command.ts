// `cvm dashboards export-grafana [--out DIR] [--lang en|zh-CN] [--ui-url URL]`: writes the panel
// definitions as Grafana dashboards (one JSON file per dashboard) for file provisioning.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { UserError, type CliContext } from '../lib/cli-context.ts';
import { DASHBOARDS_DIR, loadRegistry } from './panel-registry.ts';
import { grafanaDashboards } from './grafana-export.ts';
import { LANGS, type Lang } from './panel-schema.ts';

export const DEFAULT_OUT = path.join(DASHBOARDS_DIR, '..', 'deploy', 'grafana', 'dashboards');

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { out: { type: 'string' }, lang: { type: 'string', default: 'en' }, 'ui-url': { type: 'string', default: 'http://localhost:3000' } },
  });
  const lang = values.lang as Lang;
  if (!LANGS.includes(lang)) throw new UserError(`--lang must be one of ${LANGS.join(', ')}`);
  const reg = loadRegistry();
  if (reg.problems.length) throw new UserError(`panel files with problems:\n  ${reg.problems.join('\n  ')}`);
  const out = path.resolve(values.out ?? DEFAULT_OUT);
  fs.mkdirSync(out, { recursive: true });
  for (const { file, dashboard } of grafanaDashboards(reg, { lang, uiUrl: values['ui-url'], baseCurrency: ctx.config.baseCurrency })) {
    fs.writeFileSync(path.join(out, file), JSON.stringify(dashboard, null, 2) + '\n');
    ctx.out(`${path.join(out, file)}  (${(dashboard.panels as unknown[]).length} panels)`);
  }
  return 0;
}
