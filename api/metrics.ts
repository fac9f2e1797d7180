// Prometheus metrics in the text exposition format (version 0.0.4), written here: a histogram of request
// latency by route and status, model run durations from the runner, and gauges read at scrape time
// (transformer lag from the event log, last model runs from model_runs, customers held in the score cache;
// back-pressure: the log's usage and refusals, the transformer's failing retries).
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from './services.ts';
import type { ModelRunRecord } from '../models/runner.ts';
import type { ScoreCache } from './score-cache.ts';
import { refusal } from '../lib/eventlog/types.ts';

type Labels = Record<string, string>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Labels): string {
  const keys = Object.keys(labels);
  return keys.length ? `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}` : '';
}

function num(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

export class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();

  constructor(readonly name: string, readonly help: string, readonly buckets: number[]) {}

  observe(labels: Labels, value: number): void {
    const key = JSON.stringify(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]! += 1;
    s.sum += value;
    s.count += 1;
  }

  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket${labelText({ ...s.labels, le: num(b) })} ${s.counts[i]}`));
      out.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      out.push(`${this.name}_sum${labelText(s.labels)} ${num(s.sum)}`);
      out.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return out;
  }
}

export function gauge(name: string, help: string, samples: Array<{ labels?: Labels; value: number }>): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...samples.map((s) => `${name}${labelText(s.labels ?? {})} ${num(s.value)}`)];
}

export class Metrics {
  readonly http = new Histogram('cvm_http_request_duration_seconds', 'HTTP request latency by method, route and status.', [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
  ]);
  readonly modelRuns = new Histogram('cvm_model_run_duration_seconds', 'Model run duration by model and status (runs of this process).', [
    0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800,
  ]);

  recordRun(run: Pick<ModelRunRecord, 'model' | 'status' | 'durationMs'>): void {
    this.modelRuns.observe({ model: run.model, status: run.status }, run.durationMs / 1000);
  }

  async render(deps: ApiDeps): Promise<string> {
    const lines = [...this.http.render(), ...this.modelRuns.render()];
    if (deps.eventLog) {
      const lag = await deps.eventLog.lag(deps.config.topics.events, 'transform').catch((err: unknown) => {
        deps.log.warn({ err }, 'metrics: event log lag unavailable');
        return [];
      });
      lines.push(...gauge('cvm_pipeline_lag_events', 'Events in the log not yet stored by the transformer, per partition.', lag.map((p) => ({ labels: { partition: String(p.partition) }, value: p.lag }))));
      lines.push(...(await logUsageLines(deps)));
    }
    const t = deps.services.transformer;
    if (t) {
      const f = t.failing;
      lines.push(...gauge('cvm_transform_failing', '1 while transform batches fail and are retried (the reason: GET /v1/pipeline/status), else 0.', [{ value: f ? 1 : 0 }]));
      lines.push(...gauge('cvm_transform_retries', 'Failed attempts since batches began failing (0 when they are stored).', [{ value: f?.retries ?? 0 }]));
      lines.push(...gauge('cvm_transform_failing_seconds', 'How long batches have been failing (0 when they are stored).', [{ value: f ? (Date.now() - f.since) / 1000 : 0 }]));
      lines.push(`# HELP cvm_transform_failed_batches_total Batch attempts that failed since this process started.`, `# TYPE cvm_transform_failed_batches_total counter`, `cvm_transform_failed_batches_total ${t.stats.failedBatches}`);
    }
    const runs = await deps.ch
      .rows<{ model: string; last_status: string; duration: number; finished: number }>(
        `SELECT model, argMax(status, finished_at) AS last_status, argMax(dateDiff('millisecond', started_at, finished_at), finished_at) / 1000 AS duration,
                toUnixTimestamp(max(finished_at)) AS finished
         FROM model_runs FINAL WHERE status != 'running' GROUP BY model ORDER BY model`,
      )
      .catch((err: unknown) => {
        deps.log.warn({ err }, 'metrics: model runs unavailable');
        return [];
      });
    lines.push(...gauge('cvm_model_last_run_duration_seconds', 'Duration of the latest finished run of each model (any process).', runs.map((r) => ({ labels: { model: r.model, status: r.last_status }, value: Number(r.duration) }))));
    lines.push(...gauge('cvm_model_last_run_timestamp_seconds', 'When the latest run of each model finished.', runs.map((r) => ({ labels: { model: r.model }, value: Number(r.finished) }))));
    const scores = deps.services.scores;
    lines.push(...gauge('cvm_score_cache_customers', 'Customers held in memory per model.', ['rfm', 'clv', 'churn'].map((m) => ({ labels: { model: m }, value: scores.size(m) }))));
    const mem = process.memoryUsage();
    lines.push(...gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', [{ value: mem.rss }]));
    lines.push(...gauge('nodejs_heap_used_bytes', 'V8 heap in use, bytes.', [{ value: mem.heapUsed }]));
    return lines.join('\n') + '\n';
  }
}

/** The live topic's room in the log: what the collector's back-pressure acts on. */
async function logUsageLines(deps: ApiDeps): Promise<string[]> {
  const { eventLog, config } = deps;
  if (!eventLog?.usage) return [];
  const u = await eventLog.usage(config.topics.events, config.log.highWaterPct).catch((err: unknown) => {
    deps.log.warn({ err }, 'metrics: event log usage unavailable');
    return null;
  });
  if (!u) return [];
  const bytes = (name: string, help: string, v: number | null) => (v === null ? [] : gauge(name, help, [{ value: v }]));
  return [
    ...bytes('cvm_event_log_used_bytes', 'Bytes the embedded log holds for the live topic.', u.usedBytes),
    ...bytes('cvm_event_log_limit_bytes', 'The most it may hold (CVM_LOG_MAX_BYTES).', u.limitBytes),
    ...bytes('cvm_event_log_high_water_bytes', 'From here the collector answers 503 (CVM_LOG_HIGH_WATER_PCT).', u.highWaterBytes),
    ...gauge('cvm_event_log_append_failures', 'Appends that failed in a row (0 once one works).', [{ value: u.appendFailures }]),
    ...gauge('cvm_collector_refusing', '1 while the collector refuses events before appending (log near its limit, or backing off), else 0.', [{ value: refusal(u) ? 1 : 0 }]),
  ];
}

/** Times every request; the route label is the route pattern (never the raw URL, which would explode cardinality). */
export function installRequestMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.http.observe({ method: req.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
}
