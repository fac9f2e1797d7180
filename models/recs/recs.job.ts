// The scheduled recommendation job. It stages one run's interactions (views, add-to-carts, purchases;
// strength-weighted, decayed by age) in ClickHouse, then computes similar items, bought-together,
// personal lists, popular lists, per-actor history and the available catalogue in a handful of
// INSERT ... SELECT statements, all under the run id. The store serves the latest run marked 'ok'.
import type { ClickHouse } from '../../lib/clickhouse.ts';
import { chTime } from '../../lib/clickhouse.ts';
import { sql } from '../../lib/sql.ts';
import type { ModelJob, ModelJobContext, ModelJobResult } from '../job.ts';

export interface RecsJobParams {
  /** Interactions older than this are ignored. */
  lookbackDays: number;
  /** Half-life of an interaction's weight. */
  halfLifeDays: number;
  /** Relative strength of the three signals. */
  weights: { view: number; cart: number; purchase: number };
  /** Strongest items kept per actor (bounds the pair self-join). */
  maxItemsPerActor: number;
  /** Pairs need this many actors in common to count as similar. */
  minCoActors: number;
  /** Bought-together pairs need this many orders. */
  minOrders: number;
  /** Baskets with more lines than this are skipped for bought-together. */
  maxBasket: number;
  /** Length of the stored lists (the store cuts and filters at request time). */
  similarK: number;
  boughtTogetherK: number;
  personalK: number;
  popularK: number;
  /** Trending: recent window and the baseline before it. */
  trendDays: number;
  baselineDays: number;
  /** Recent items kept per actor, and how long an actor without purchases stays in the history. */
  recentItems: number;
  historyDays: number;
  /** Categories bought again and again (food, refills): bought items in them stay recommendable. */
  consumableCategories: string[];
  /** Ok runs kept besides the current one (the store may still be reading the previous). */
  keepRuns: number;
}

export const RECS_DEFAULTS: RecsJobParams = {
  lookbackDays: 365,
  halfLifeDays: 30,
  weights: { view: 1, cart: 3, purchase: 5 },
  maxItemsPerActor: 200,
  minCoActors: 2,
  minOrders: 2,
  maxBasket: 100,
  similarK: 50,
  boughtTogetherK: 30,
  personalK: 50,
  popularK: 50,
  trendDays: 7,
  baselineDays: 28,
  recentItems: 20,
  historyDays: 90,
  consumableCategories: [],
  keepRuns: 2,
};

export const RECS_TABLES = ['recs_similar', 'recs_bought_together', 'recs_personal', 'recs_popular', 'recs_history', 'recs_catalog'] as const;

const DAY_MS = 86_400_000;

/** Drops partitions of runs that are neither current nor among the latest `keep` ok runs. */
async function dropOldRuns(ch: ClickHouse, runId: string, keep: number): Promise<number> {
  const ok = await ch.rows<{ run_id: string }>(
    `SELECT run_id FROM model_runs FINAL WHERE model = 'recs' AND status = 'ok' ORDER BY finished_at DESC, run_id DESC LIMIT {keep:UInt32}`,
    { keep },
  );
  const keepIds = new Set([runId, ...ok.map((r) => r.run_id)]);
  const parts = await ch.rows<{ table: string; partition: string }>(
    `SELECT DISTINCT table, partition FROM system.parts
     WHERE database = currentDatabase() AND active AND table IN {tables:Array(String)}`,
    { tables: [...RECS_TABLES, 'recs_interactions'] },
  );
  let dropped = 0;
  const ours = new Set<string>([...RECS_TABLES, 'recs_interactions']);
  for (const p of parts) {
    if (!ours.has(p.table)) continue; // table names come from our own list, never from data
    // Partition values of a String key are listed quoted ('run-…').
    const id = p.partition.replace(/^'(.*)'$/, '$1');
    if (keepIds.has(id) && p.table !== 'recs_interactions') continue;
    if (p.table === 'recs_interactions' && id === runId) continue;
    await ch.exec(`ALTER TABLE ${p.table} DROP PARTITION {id:String}`, { id });
    dropped++;
  }
  return dropped;
}

export function createRecsJob(overrides: Partial<RecsJobParams> = {}): ModelJob {
  const p: RecsJobParams = { ...RECS_DEFAULTS, ...overrides, weights: { ...RECS_DEFAULTS.weights, ...overrides.weights } };
  return {
    name: 'recs',
    version: '1.0.0',
    async run(ctx: ModelJobContext): Promise<ModelJobResult> {
      const { ch, runId, log } = ctx;
      const base = {
        run_id: runId,
        now: chTime(ctx.now.getTime()),
        lookback_days: p.lookbackDays,
      };
      const timings: Record<string, number> = {};
      const step = async (name: string, params: Record<string, unknown>) => {
        const t0 = performance.now();
        await ch.exec(sql(`recs/${name}`), { ...base, ...params });
        timings[name] = Math.round(performance.now() - t0);
      };
      await step('stage-interactions', {
        half_life_ms: p.halfLifeDays * DAY_MS,
        w_view: p.weights.view,
        w_cart: p.weights.cart,
        w_purchase: p.weights.purchase,
        trend_days: p.trendDays,
        baseline_days: p.baselineDays,
        max_items: p.maxItemsPerActor,
        consumables: p.consumableCategories,
      });
      await step('similar', { min_co_actors: p.minCoActors, top_k: p.similarK });
      await step('bought-together', { min_orders: p.minOrders, max_basket: p.maxBasket, top_k: p.boughtTogetherK });
      await step('personal', { top_k: p.personalK });
      await step('popular', { trend_days: p.trendDays, baseline_days: p.baselineDays, top_k: p.popularK });
      await step('history', { recent_items: p.recentItems, history_days: p.historyDays });
      await step('catalog', {});

      const counts = await ch.rows<{ t: string; n: string | number; keys: string | number }>(
        RECS_TABLES.map((t) => `SELECT '${t}' AS t, count() AS n, uniqExact(${t === 'recs_popular' ? '(list, key)' : t === 'recs_personal' ? 'customer_id' : t === 'recs_history' ? 'actor_id' : 'product_id'}) AS keys FROM ${t} WHERE run_id = {run_id:String}`).join(' UNION ALL '),
        { run_id: runId },
      );
      const staged = await ch.rows<{ n: string | number; actors: string | number; products: string | number }>(
        `SELECT count() AS n, uniqExact(actor_id) AS actors, uniqExact(product_id) AS products FROM recs_interactions WHERE run_id = {run_id:String}`,
        { run_id: runId },
      );
      const dropped = await dropOldRuns(ch, runId, p.keepRuns);
      await ch.exec(`ALTER TABLE recs_interactions DROP PARTITION {id:String}`, { id: runId });

      const metrics: Record<string, unknown> = {
        interactions: Number(staged[0]?.n ?? 0),
        actors: Number(staged[0]?.actors ?? 0),
        products: Number(staged[0]?.products ?? 0),
        partitions_dropped: dropped,
        step_ms: timings,
      };
      let rows = 0;
      for (const c of counts) {
        rows += Number(c.n);
        metrics[`${c.t.replace('recs_', '')}_rows`] = Number(c.n);
        metrics[`${c.t.replace('recs_', '')}_keys`] = Number(c.keys);
      }
      log.info({ runId, rows, ...metrics }, 'recommendation lists computed');
      return { rowsWritten: rows, params: { ...p }, metrics };
    },
  };
}

export const recsJob: ModelJob = createRecsJob();
