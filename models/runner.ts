// Runs model jobs and records each run in model_runs. Outputs carry the run id and are only
// served once the run is marked 'ok', so a failed run never leaves half-written scores in view.
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ClickHouse } from '../lib/clickhouse.ts';
import { chTime } from '../lib/clickhouse.ts';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import { systemClock, type Clock } from '../lib/clock.ts';
import type { ModelJob, ModelJobResult } from './job.ts';
import { JobLock, JobLockedError, type Lease } from './lock.ts';

export interface ModelRunRecord {
  runId: string;
  model: string;
  version: string;
  status: 'ok' | 'failed';
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  rowsWritten: number;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  error?: string;
}

export class UnknownModelError extends Error {
  constructor(name: string, known: string[]) {
    super(`unknown model '${name}'; known: ${known.join(', ')}, all`);
  }
}

/** The columns of a model_runs row that every version of it repeats. */
interface RunRowKey {
  run_id: string;
  model: string;
  version: string;
  started_at: string;
}

export function newRunId(model: string, at = new Date()): string {
  const stamp = at.toISOString().replace(/[-:T.Z]/g, '').slice(0, 17);
  return `${model}-${stamp}-${crypto.randomBytes(3).toString('hex')}`;
}

export class ModelRunner extends EventEmitter {
  private readonly jobs = new Map<string, ModelJob>();
  private readonly running = new Map<string, Promise<ModelRunRecord>>();
  private readonly afterRunHooks: Array<(run: ModelRunRecord) => Promise<void>> = [];
  private readonly lock: JobLock | null;
  /** "Now" for runs not given an explicit reference time (the scheduler's, the API's without `as_of`). */
  readonly clock: Clock;

  /** `lock`: against a ClickHouse server several processes may run jobs, so each run takes a lease (models/lock.ts);
   *  the embedded store belongs to one process, which the `running` map already keeps to one run per job. */
  constructor(private readonly deps: { ch: ClickHouse; config: Config; log: Logger; lock?: JobLock | null; clock?: Clock }) {
    super();
    this.clock = deps.clock ?? systemClock;
    this.lock = deps.lock !== undefined ? deps.lock : deps.ch.mode === 'server' ? new JobLock(deps.ch, { log: deps.log.child({ name: 'model-lock' }) }) : null;
  }

  register(job: ModelJob): this {
    this.jobs.set(job.name, job);
    return this;
  }

  /** Work that must finish before a run counts as done (e.g. reloading in-memory scores). */
  afterRun(hook: (run: ModelRunRecord) => Promise<void>): this {
    this.afterRunHooks.push(hook);
    return this;
  }

  names(): string[] {
    return [...this.jobs.keys()];
  }

  /** Run one job, or 'all' in dependency order. A job already running is joined, not started twice. */
  async run(name: string, now: Date = new Date(this.clock.now())): Promise<ModelRunRecord[]> {
    if (name === 'all') {
      const out: ModelRunRecord[] = [];
      for (const job of this.ordered()) out.push(await this.runOne(job, now));
      return out;
    }
    const job = this.jobs.get(name);
    if (!job) throw new UnknownModelError(name, this.names());
    return [await this.runOne(job, now)];
  }

  private ordered(): ModelJob[] {
    const out: ModelJob[] = [];
    const seen = new Set<string>();
    const visit = (job: ModelJob) => {
      if (seen.has(job.name)) return;
      seen.add(job.name);
      for (const dep of job.after ?? []) {
        const d = this.jobs.get(dep);
        if (d) visit(d);
      }
      out.push(job);
    };
    for (const job of this.jobs.values()) visit(job);
    return out;
  }

  private runOne(job: ModelJob, now: Date): Promise<ModelRunRecord> {
    const current = this.running.get(job.name);
    if (current) return current;
    const p = this.execute(job, now).finally(() => this.running.delete(job.name));
    this.running.set(job.name, p);
    return p;
  }

  private async execute(job: ModelJob, now: Date): Promise<ModelRunRecord> {
    if (!this.lock) return this.executeHeld(job, now, null);
    const lease = await this.lock.acquire(job.name);
    if (!lease) throw new JobLockedError(job.name, await this.lock.owner(job.name));
    try {
      return await this.executeHeld(job, now, lease);
    } finally {
      await lease.release().catch((err: unknown) => this.deps.log.warn({ err, model: job.name }, 'could not release the job lock; it expires by itself'));
    }
  }

  private async executeHeld(job: ModelJob, now: Date, lease: Lease | null): Promise<ModelRunRecord> {
    const { ch, config } = this.deps;
    const log = this.deps.log.child({ model: job.name });
    const runId = newRunId(job.name);
    const started = Date.now();
    const base: RunRowKey = { run_id: runId, model: job.name, version: job.version, started_at: chTime(started) };
    await ch.insert('model_runs', [{ ...base, status: 'running', finished_at: chTime(started), params: '{}', metrics: '{}', rows_written: 0, error: '' }]);
    let result: ModelJobResult | null = null;
    let error: string | undefined;
    try {
      result = await job.run({ ch, config, log, runId, now });
    } catch (err) {
      error = (err instanceof Error && err.message) || String(err);
      log.error({ err, runId }, 'model run failed');
    }
    // Another runner may have taken the job once the lease was lost: this run's outputs must not be served.
    if (error === undefined && lease && !lease.held()) error = `lost the job lock: ${lease.lostReason()}`;
    const finished = Math.max(Date.now(), started + 1);
    const record: ModelRunRecord = {
      runId,
      model: job.name,
      version: job.version,
      status: error === undefined ? 'ok' : 'failed',
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(finished).toISOString(),
      durationMs: finished - started,
      rowsWritten: result?.rowsWritten ?? 0,
      params: result?.params ?? {},
      metrics: result?.metrics ?? {},
      ...(error !== undefined ? { error } : {}),
    };
    await this.store(base, record);
    log.info({ runId, status: record.status, durationMs: record.durationMs, rows: record.rowsWritten }, 'model run finished');
    if (record.status !== 'ok') return record;
    // The hooks read the run as the latest 'ok' one, so they run after it is stored as such. NOTE: the first
    // hook that fails turns the run into a failed one (readers fall back to the previous run) and the later
    // hooks are skipped: segment sizes and webhook pushes must not act on a run that no longer counts.
    for (const hook of this.afterRunHooks) {
      try {
        await hook(record);
      } catch (err) {
        log.error({ err, runId }, 'after-run hook failed; the run is marked failed');
        return this.markFailed(base, record, `after-run hook failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    this.emit('run', record);
    return record;
  }

  /** One version of the run's model_runs row; the one with the latest finished_at wins (ReplacingMergeTree). */
  private async store(base: RunRowKey, record: ModelRunRecord): Promise<void> {
    await this.deps.ch.insert('model_runs', [
      {
        ...base,
        status: record.status,
        finished_at: chTime(Date.parse(record.finishedAt)),
        params: JSON.stringify(record.params),
        metrics: JSON.stringify({ ...record.metrics, duration_ms: record.durationMs }),
        rows_written: record.rowsWritten,
        error: record.error ?? '',
      },
    ]);
  }

  private async markFailed(base: RunRowKey, record: ModelRunRecord, error: string): Promise<ModelRunRecord> {
    // A later finished_at than the 'ok' version, so this version replaces it.
    const finished = Math.max(Date.now(), Date.parse(record.finishedAt) + 1);
    const failed: ModelRunRecord = { ...record, status: 'failed', finishedAt: new Date(finished).toISOString(), error };
    await this.store(base, failed);
    return failed;
  }
}

/** The latest successful run id of a model, or null when it never ran. */
export async function latestRunId(ch: ClickHouse, model: string): Promise<string | null> {
  const rows = await ch.rows<{ run_id: string }>(
    `SELECT run_id FROM model_runs FINAL WHERE model = {model:String} AND status = 'ok' ORDER BY finished_at DESC, run_id DESC LIMIT 1`,
    { model },
  );
  return rows[0]?.run_id ?? null;
}
