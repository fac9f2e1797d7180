// Every customer's latest scores held in memory: chDB answers one query at a time, so the storefront's
// per-customer reads must not touch it. Reloaded after each successful model run; the new maps are
// built aside and swapped in one assignment, so readers never see a half-loaded state.
import type { ClickHouse } from '../lib/clickhouse.ts';
import type { Logger } from '../lib/logger.ts';
import { latestRunId } from '../models/runner.ts';

export interface ScoreSource {
  model: string;
  table: string;
}

/** Models whose per-customer output the API serves. Tables that do not exist yet are skipped. */
export const SCORE_SOURCES: ScoreSource[] = [
  { model: 'rfm', table: 'rfm_scores' },
  { model: 'clv', table: 'clv_scores' },
  { model: 'churn', table: 'churn_scores' },
];

type Row = Record<string, unknown>;

export class ScoreCache {
  private maps = new Map<string, { runId: string; byCustomer: Map<string, Row> }>();

  constructor(private readonly ch: ClickHouse, private readonly log: Logger, private readonly sources = SCORE_SOURCES) {}

  async refresh(model?: string): Promise<void> {
    const tables = new Set(
      (await this.ch.rows<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase()')).map((r) => r.name),
    );
    for (const source of this.sources) {
      if (model && source.model !== model) continue;
      if (!tables.has(source.table)) continue;
      const runId = await latestRunId(this.ch, source.model);
      if (!runId || this.maps.get(source.model)?.runId === runId) continue;
      const rows = await this.ch.rows<Row>(`SELECT * EXCEPT (run_id) FROM {table:Identifier} WHERE run_id = {run_id:String}`, { table: source.table, run_id: runId });
      const byCustomer = new Map<string, Row>();
      for (const r of rows) byCustomer.set(String(r.customer_id), r);
      const next = new Map(this.maps);
      next.set(source.model, { runId, byCustomer });
      this.maps = next;
      this.log.info({ model: source.model, runId, customers: byCustomer.size }, 'scores loaded');
    }
  }

  runId(model: string): string | null {
    return this.maps.get(model)?.runId ?? null;
  }

  get(model: string, customerId: string): Row | undefined {
    return this.maps.get(model)?.byCustomer.get(customerId);
  }

  size(model: string): number {
    return this.maps.get(model)?.byCustomer.size ?? 0;
  }

  /** Drops one customer from every map (erasure). */
  forget(customerId: string): void {
    for (const m of this.maps.values()) m.byCustomer.delete(customerId);
  }

  holds(customerId: string): boolean {
    for (const m of this.maps.values()) if (m.byCustomer.has(customerId)) return true;
    return false;
  }

  /** Refreshes now, after every run of this process's runner, and every `pollMs` (runs of other processes). */
  start(models: { afterRun(f: (r: { model: string }) => Promise<void>): unknown } | null, pollMs = 30_000): { ready: Promise<void>; stop(): void } {
    models?.afterRun((r) => this.refresh(r.model));
    const timer = setInterval(() => void this.refresh().catch((err: unknown) => this.log.warn({ err }, 'score refresh failed')), pollMs);
    timer.unref();
    return { ready: this.refresh(), stop: () => clearInterval(timer) };
  }
}
