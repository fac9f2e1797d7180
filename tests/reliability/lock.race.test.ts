// Two `cvm start` on one data directory at the same moment (two supervisors, a double-clicked script):
// exactly one runs, the other exits non-zero and names the process that holds the directory.
import { afterEach, expect, it } from 'vitest';
import { tempDir, ADMIN } from '../helpers/runtime.ts';
import { startCvmGroup, type CvmGroup } from './helpers/cvm-group.ts';

const started: CvmGroup[] = [];
afterEach(() => {
  for (const g of started.splice(0)) g.killGroup('SIGKILL');
});

it('of two cvm start racing on one directory exactly one runs, the other names it', async () => {
  for (let round = 0; round < 2; round++) {
    const dir = tempDir('cvm-rel-race-');
    const env = { CVM_DATA_DIR: dir, CVM_ADMIN_KEY: ADMIN };
    const both = await Promise.all([startCvmGroup(env), startCvmGroup(env)]);
    started.push(...both);
    // Each one either comes up or ends; wait for both outcomes.
    const outcomes = await Promise.all(
      both.map((g) =>
        Promise.race([
          g.ready.then((url) => ({ g, url, code: undefined as number | null | undefined })),
          g.exited.then((code) => ({ g, url: undefined as string | undefined, code })),
        ]),
      ),
    );
    const winners = outcomes.filter((o) => o.url !== undefined);
    const losers = outcomes.filter((o) => o.url === undefined);
    expect(winners, outcomes.map((o) => o.g.output()).join('\n----\n')).toHaveLength(1);
    expect(losers).toHaveLength(1);
    const [winner] = winners;
    const [loser] = losers;
    expect(loser!.code).not.toBe(0);
    expect(loser!.g.output()).toMatch(new RegExp(`another cvm \\(pid ${winner!.g.pid}(, http://\\S+)?\\) is running on ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    // The winner was not disturbed by the loser.
    const health = await fetch(`${winner!.url}/health`);
    expect(health.ok).toBe(true);
    winner!.g.killGroup('SIGTERM');
    expect(await winner!.g.exited).toBe(0);
  }
});
