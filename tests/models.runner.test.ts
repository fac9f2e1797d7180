// The model runner's bookkeeping on chDB: a run counts as 'ok' only once its after-run hooks (score
// reloads, segment sizes) have finished; a hook that fails marks the run failed, so the previous run's
// outputs stay the ones served and the failure shows in model_runs instead of leaving scores stale.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../lib/config.ts';
import { initLogging } from '../lib/logger.ts';
import type { ClickHouse } from '../lib/clickhouse.ts';
import { openStore } from '../bin/runtime.ts';
import { ModelRunner, latestRunId } from '../models/runner.ts';
import type { ModelJob } from '../models/job.ts';
import { tempDir } from './helpers/runtime.ts';

const log = initLogging({ level: 'silent' });

const job: ModelJob = {
  name: 'probe',
  version: '1',
  run: async () => ({ rowsWritten: 3, params: { k: 1 }, metrics: { m: 2 } }),
};

async function storedRun(ch: ClickHouse, runId: string): Promise<{ status: string; error: string } | undefined> {
  const [row] = await ch.rows<{ status: string; error: string }>(`SELECT status, error FROM model_runs FINAL WHERE run_id = {runId:String}`, { runId });
  return row;
}

describe('model runner', () => {
  let ch: ClickHouse;
  const config = testConfig({ CVM_DATA_DIR: tempDir('cvm-runner-') });

  beforeAll(async () => {
    ch = await openStore(config, log);
  });
  afterAll(async () => {
    await ch?.close();
  });

  it('a run whose hooks all succeed is ok, stored as ok, and announced', async () => {
    const seen: string[] = [];
    const runner = new ModelRunner({ ch, config, log }).register(job).afterRun(async (r) => void seen.push(`hook:${r.runId}`));
    runner.on('run', (r: { runId: string }) => seen.push(`event:${r.runId}`));
    const [run] = await runner.run('probe');
    expect(run).toMatchObject({ status: 'ok', rowsWritten: 3 });
    expect(run!.error).toBeUndefined();
    expect(seen).toEqual([`hook:${run!.runId}`, `event:${run!.runId}`]);
    expect(await storedRun(ch, run!.runId)).toEqual({ status: 'ok', error: '' });
    expect(await latestRunId(ch, 'probe')).toBe(run!.runId);
  });

  it('a failing after-run hook marks the run failed: not served, not announced, the error stored', async () => {
    const before = await latestRunId(ch, 'probe');
    expect(before).not.toBeNull();
    const later: string[] = [];
    const runner = new ModelRunner({ ch, config, log })
      .register(job)
      .afterRun(async () => {
        throw new Error('score reload broke');
      })
      .afterRun(async (r) => void later.push(r.runId));
    const events: unknown[] = [];
    runner.on('run', (r) => events.push(r));

    const [run] = await runner.run('probe');
    expect(run!.status).toBe('failed');
    expect(run!.error).toMatch(/after-run hook failed: score reload broke/);
    expect(events).toEqual([]);
    // The hooks after the failed one do not run on a run that no longer counts.
    expect(later).toEqual([]);
    expect(await storedRun(ch, run!.runId)).toEqual({ status: 'failed', error: run!.error });
    // Readers keep the previous successful run.
    expect(await latestRunId(ch, 'probe')).toBe(before);
  });
});
