// `cvm models run` beside a running `cvm start`: chDB allows one process per data directory, so the CLI
// finds the holder through the store's lock and hands it the run (admin key from <dataDir>/admin.key).
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { purchase } from './helpers/events.ts';
import { tempDir } from './helpers/runtime.ts';
import { runCvm, startCvm, waitForHealthyDrain } from './helpers/cvm-process.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('cvm models run while cvm start holds the store', () => {
  it('hands the run to the running cvm, and passes its refusals on', async () => {
    const data = tempDir('cvm-bin-models-');
    dirs.push(data);
    const proc = await startCvm({ CVM_DATA_DIR: data, CVM_DEMO_WRITE_KEY: 'wk_test_site' });
    try {
      const res = await fetch(`${proc.url}/v1/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-cvm-key': 'wk_test_site' },
        body: JSON.stringify({ batch: ['c1', 'c2', 'c3'].map((c, i) => purchase(c, new Date(Date.now() - (i + 1) * 86_400_000), 20 + i)) }),
      });
      expect(res.status).toBe(200);
      await waitForHealthyDrain(proc.url);

      const ran = await runCvm(['models', 'run', 'rfm'], { CVM_DATA_DIR: data });
      expect(ran.code, ran.stderr).toBe(0);
      const out = JSON.parse(ran.stdout) as { runs: Array<{ model: string; status: string; rowsWritten: number }>; via: string };
      expect(out.via).toMatch(/^the running cvm \(pid \d+, http:/);
      expect(out.runs).toMatchObject([{ model: 'rfm', status: 'ok' }]);

      const badDay = await runCvm(['models', 'run', 'rfm', '--as-of', '2026-02-31'], { CVM_DATA_DIR: data });
      expect(badDay.code).toBe(1);
      expect(badDay.stderr).toMatch(/not a day of the calendar/);
      const unknown = await runCvm(['models', 'run', 'nope'], { CVM_DATA_DIR: data });
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/nope/);
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  }, 240_000);
});
