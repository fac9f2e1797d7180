// `cvm start`: every role in one process on the embedded engine and log. On an empty store it loads
// the demo shop, so every screen has something to show.
import { UserError, type CliContext } from '../../lib/cli-context.ts';
import { startRuntime, waitForDrain } from '../runtime.ts';
import { appendDemoHistory, isStoreEmpty, loadCatalogue } from '../../storefront/demo/load.ts';
import { acquireInstanceLock, describeHolder, type InstanceLock } from '../instance-lock.ts';
import { simulateTraffic } from '../../storefront/demo/traffic.ts';
import { installShutdown } from '../shutdown.ts';

/**
 * The admin key is printed once, on the start that generated it: a key from CVM_ADMIN_KEY, or one kept
 * from an earlier start, never reaches the terminal (or the logs that capture it) again.
 */
export function adminKeyLines(admin: { generated: boolean; file: string | null }, key: string): string[] {
  if (admin.generated) return [`  admin key       export CVM_ADMIN_KEY=${key}   (generated now and kept in ${admin.file}; shown only this once)`];
  if (admin.file) return [`  admin key       in ${admin.file} (cvm keys rotate-admin replaces it)`];
  return ['  admin key       the one in CVM_ADMIN_KEY'];
}

export async function run(_argv: string[], ctx: CliContext): Promise<number | void> {
  const { config, log, out } = ctx;
  let lock: InstanceLock | null = null; // the embedded store's: held until exit, freed by the kernel on any death
  if (!config.clickhouse.url) {
    const got = await acquireInstanceLock(config.dataDir);
    if ('held' in got) throw new UserError(`another cvm (${describeHolder(got.held)}) is running on ${config.dataDir}; stop it or set CVM_DATA_DIR to another directory`);
    lock = got.lock;
  }
  const rt = await startRuntime(config, log, { collector: true, transformer: true, scheduler: true, api: true });
  lock?.update({ url: rt.url });
  const adminKey = rt.deps.config.keys.admin!;
  installShutdown(rt, { log, timeoutS: config.shutdown.timeoutS, afterClose: () => lock?.release() });

  const url = rt.url!;
  if (config.demo && (await isStoreEmpty(rt.deps.ch))) {
    out(`cvm is up at ${url} — loading the demo shop (first run only)…`);
    const t0 = Date.now();
    await loadCatalogue(rt.deps.ch);
    const n = await appendDemoHistory(rt.eventLog!, rt.deps.config, config.demoSize, rt.models.clock.now());
    await waitForDrain(rt, 300_000);
    const runs = await rt.models.run('all');
    out(`demo loaded: ${n} events, models ${runs.map((r) => `${r.model}:${r.status}`).join(' ')} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // Then live visitors through the real shop and collector, so members, orders in every state and
    // recommendation impressions and clicks exist too. In the background: the API is already usable.
    void simulateTraffic({ url, adminKey, writeKey: config.keys.demoWrite, visitors: 100, days: 14 })
      .then((r) => log.info({ traffic: r }, 'demo traffic done'))
      .catch((err) => log.warn({ err }, 'demo traffic failed'));
  }
  out('');
  out(`cvm is running (embedded: chDB + durable log in ${config.dataDir})`);
  out(`  health          ${url}/health`);
  out(`  customer (RFM)  curl -H "Authorization: Bearer $CVM_ADMIN_KEY" ${url}/v1/customers/C00001`);
  out(`  run a model     curl -X POST -H "Authorization: Bearer $CVM_ADMIN_KEY" ${url}/v1/models/rfm/run`);
  out(`  demo shop       ${url}/shop`);
  out(`  dashboards      ${url}/dashboards   (sign in with the admin key)`);
  out(`  API docs        ${url}/docs`);
  out(`  collector       POST ${url}/v1/batch   (write key ${config.keys.demoWrite})`);
  for (const line of adminKeyLines(rt.adminKey, adminKey)) out(line);
  out('Press Ctrl+C to stop.');
  await new Promise(() => {});
}
