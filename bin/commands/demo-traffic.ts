// `cvm demo traffic --visitors N --days D [--url http://...]`: simulated shoppers against a running cvm,
// through its shop pages, its collector and its real checkout (storefront/demo/traffic.ts).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { UserError, type CliContext } from '../../lib/cli-context.ts';
import { simulateTraffic } from '../../storefront/demo/traffic.ts';

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      visitors: { type: 'string', default: '200' },
      days: { type: 'string', default: '30' },
      url: { type: 'string' },
      'admin-key': { type: 'string' },
      'write-key': { type: 'string' },
      seed: { type: 'string', default: '1234' },
      concurrency: { type: 'string', default: '8' },
      json: { type: 'boolean', default: false },
    },
  });
  const int = (name: string, v: string, lo: number, hi: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new UserError(`--${name} must be a whole number from ${lo} to ${hi}`);
    return n;
  };
  const visitors = int('visitors', values.visitors!, 1, 1_000_000);
  const days = int('days', values.days!, 1, 365);
  const concurrency = int('concurrency', values.concurrency!, 1, 64);
  const url = values.url ?? `http://${ctx.config.host === '0.0.0.0' ? '127.0.0.1' : ctx.config.host}:${ctx.config.port}`;
  let adminKey = values['admin-key'] ?? ctx.config.keys.admin ?? '';
  const keyFile = path.join(ctx.config.dataDir, 'admin.key');
  if (!adminKey && fs.existsSync(keyFile)) adminKey = fs.readFileSync(keyFile, 'utf8').trim();
  if (!adminKey) throw new UserError(`an admin key is needed (simulated time and shop staff actions): --admin-key, CVM_ADMIN_KEY or ${keyFile}`);

  let last = 0;
  const report = await simulateTraffic({
    url,
    adminKey,
    writeKey: values['write-key'] ?? ctx.config.keys.demoWrite,
    visitors,
    days,
    seed: Number(values.seed),
    concurrency,
    onProgress: (done, r) => {
      if (values.json || Date.now() - last < 2000) return;
      last = Date.now();
      ctx.out(`  ${done}/${visitors} visitors, ${r.events} events, ${r.orders} orders`);
    },
  }).catch((err: Error) => {
    if (/fetch failed|ECONNREFUSED/.test(String(err.message) + String((err as { cause?: Error }).cause?.message ?? ''))) throw new UserError(`nothing answers at ${url}; start cvm first (cvm start) or pass --url`);
    if (/answered|no products/.test(err.message)) throw new UserError(err.message);
    throw err;
  });
  if (values.json) ctx.out(JSON.stringify(report));
  else {
    ctx.out(`simulated ${report.visitors} visitors over ${days} days in ${report.seconds.toFixed(1)} s: ${report.sessions} sessions, ${report.pages} pages, ${report.events} events`);
    ctx.out(`  ${report.signups} sign-ups, ${report.orders} orders (${report.paid} paid, ${report.abandoned} left unpaid, ${report.cancelled} cancelled, ${report.shipped} shipped, ${report.delivered} delivered, ${report.refunded} refunded), ${report.outOfStock} refused for stock, ${report.restocked} restocked`);
    ctx.out(`  ${report.requests} HTTP requests, ${report.retries} retried, ${report.errors} errors`);
  }
  return report.errors > 0 ? 1 : 0;
}
