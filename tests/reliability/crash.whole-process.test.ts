// Fault: kill -9 of the whole embedded process (collector, log, transformer, chDB) while events stream in,
// twice in a row, then a clean restart drains the log.
import { expect, it } from 'vitest';
import { tempDir, ADMIN, WRITE } from '../helpers/runtime.ts';
import { startCvm, waitForHealthyDrain } from '../helpers/cvm-process.ts';
import { connectClickHouse } from '../../lib/clickhouse.ts';
import { testConfig } from '../../lib/config.ts';
import { Ledger, audit, sleep, viaFetch } from './helpers/stream.ts';
import { recordFault } from './helpers/report.ts';

it('kill -9 of the whole process mid-stream loses nothing acknowledged and stores nothing twice', async () => {
  const t0 = Date.now();
  const dir = tempDir('cvm-rel-kill9-');
  const env = { CVM_DATA_DIR: dir, CVM_ADMIN_KEY: ADMIN, CVM_DEMO_WRITE_KEY: WRITE, CVM_TRANSFORM_FLUSH_MS: '100', CVM_RATE_LIMIT_PER_MINUTE: '10000000' };
  const ledger = new Ledger('k9');
  const kills = 2;
  for (let k = 0; k < kills; k++) {
    const cvm = await startCvm(env);
    let stop = false;
    const streaming = ledger.stream(viaFetch(cvm.url), { senders: 4, until: () => stop });
    await sleep(1500 + k * 700);
    cvm.child.kill('SIGKILL');
    stop = true;
    await streaming;
    await cvm.exited;
  }
  const last = await startCvm(env);
  await waitForHealthyDrain(last.url, 90_000);
  last.child.kill('SIGTERM');
  expect(await last.exited).toBe(0);

  const ch = await connectClickHouse(testConfig({ CVM_DATA_DIR: dir }));
  try {
    recordFault(1, 'kill -9 of the whole embedded process mid-stream (×2)', await audit(ch, ledger), `4 senders of 25-event batches; answers: ${ledger.statusSummary()}`, t0);
  } finally {
    await ch.close();
  }
});
