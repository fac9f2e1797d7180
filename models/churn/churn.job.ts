// Churn job: backtest the candidates at T0 = now − horizon (features at T0, label = no purchase in
// (T0, now]), keep the best, train it on all of T0's customers and score every customer at `now`.
// churn_scores also carries BG/NBD P(alive) at `now` whichever model is served.
import { chTime } from '../../lib/clickhouse.ts';
import type { ModelJob, ModelJobContext, ModelJobResult } from '../job.ts';
import { backtest, type BacktestResult } from './backtest.ts';
import { fitBaseline, pAliveOf, summaryOf } from './bgnbd-baseline.ts';
import { ALL_FEATURES, type FeatureName, type RawFeatures } from './features.ts';
import { queryChurnFeatures } from './feature-query.ts';
import type { ChurnEvaluation } from './metrics.ts';
import { reasonsFor } from './reasons.ts';
import { bgnbdScorer, trainClassifierScorer, type CandidateName, type ChurnScorer } from './scorers.ts';
import { tfBackendName } from './tf-backend.ts';
import type { TrainOptions } from './classifier.ts';

const DAY_MS = 86_400_000;

export interface ChurnJobOptions {
  features?: readonly FeatureName[];
  candidates?: readonly CandidateName[];
  /** k > 1: choose by k-fold cross-validation instead of one 70/30 customer split (k times the training). */
  folds?: number;
  train?: Omit<TrainOptions, 'kind'>;
  seed?: number;
}

function summary(e: ChurnEvaluation | null) {
  if (!e) return null;
  return {
    n: e.n,
    positives: e.positives,
    auc: e.auc,
    precision_top_decile: e.precisionTopDecile,
    recall_top_decile: e.recallTopDecile,
    lift_top_decile: e.liftTopDecile,
    brier: e.brier,
    ece: e.ece,
  };
}

export function backtestMetrics(bt: BacktestResult): Record<string, unknown> {
  return {
    calibration_customers: bt.calibrationRows,
    train_customers: bt.trainRows,
    test_customers: bt.testRows,
    test_churned: bt.testPositives,
    candidates: Object.fromEntries(bt.candidates.map((c) => [c.name, c.error ? { error: c.error } : summary(c.evaluation)])),
    chosen_model: bt.chosen,
    chosen_why: bt.why,
  };
}

export function createChurnJob(options: ChurnJobOptions = {}): ModelJob {
  return {
    name: 'churn',
    version: '1.0.0',
    after: ['clv'],
    async run(ctx: ModelJobContext): Promise<ModelJobResult> {
      const { ch, config, log, runId, now } = ctx;
      const horizonDays = config.models.churnHorizonDays;
      const features = options.features ?? ALL_FEATURES;
      const seed = options.seed ?? 42;
      const t0 = new Date(now.getTime() - horizonDays * DAY_MS);
      const [calibration, current] = [await queryChurnFeatures(ch, t0, now), await queryChurnFeatures(ch, now, now)];
      const params = { horizon_days: horizonDays, backtest_cutoff: t0.toISOString(), now: now.toISOString(), features, seed, backend: await tfBackendName() };
      if (current.length === 0) {
        log.info('no customers with purchases; nothing to score');
        return { rowsWritten: 0, params, metrics: { customers: 0, chosen_model: null, chosen_why: 'no customers with purchases' } };
      }

      const bt = await backtest(calibration, {
        features,
        horizonDays,
        seed,
        ...(options.candidates ? { candidates: options.candidates } : {}),
        ...(options.folds ? { folds: options.folds } : {}),
        ...(options.train ? { train: options.train } : {}),
      });
      log.info({ chosen: bt.chosen, why: bt.why }, 'churn backtest done');

      // P(alive) at `now` comes from a BG/NBD fit on everything up to now (the backtest's fit stops at T0).
      let bgnbdNow: ReturnType<typeof fitBaseline> | null = null;
      try {
        bgnbdNow = fitBaseline(current);
      } catch (err) {
        log.warn({ err }, 'BG/NBD fit at now failed; p_alive left empty');
      }

      let chosenWhy = bt.why;
      let serving = await servingScorer(bt.chosen, calibration, current, features, horizonDays, bgnbdNow, seed, options.train);
      if (!serving && bgnbdNow) {
        // A young shop has no history before T0 to backtest on; BG/NBD still works on what there is.
        serving = await servingScorer('p_no_purchase', calibration, current, features, horizonDays, bgnbdNow, seed, options.train);
        chosenWhy = `p_no_purchase: no backtest possible (${bt.why}); BG/NBD needs no labels`;
      }
      if (!serving) {
        log.warn({ why: bt.why }, 'no churn model could be fitted; nothing scored');
        return {
          rowsWritten: 0,
          params,
          metrics: { ...backtestMetrics(bt), customers: current.length, chosen_model: null, chosen_why: `nothing scored: ${bt.why}; BG/NBD at now did not fit either` },
        };
      }
      const risk = serving.score(current);
      const reasons = reasonsFor(current, serving.contributions(current), { currency: config.baseCurrency });
      const computedAt = chTime(Date.now());
      const out = current.map((r, i) => ({
        run_id: runId,
        customer_id: r.customer_id,
        churn_risk: risk[i]!,
        p_alive: bgnbdNow ? pAliveOf(bgnbdNow.params, summaryOf(r)) : null,
        model_used: serving.name,
        reasons: reasons[i]!,
        computed_at: computedAt,
      }));
      await ch.insert('churn_scores', out);

      const mean = risk.reduce((s, v) => s + v, 0) / risk.length;
      return {
        rowsWritten: out.length,
        params: {
          ...params,
          bgnbd_backtest: bt.bgnbd?.params ?? null,
          bgnbd_now: bgnbdNow?.params ?? null,
          logistic_coefficients: bt.candidates.find((c) => c.name === 'logistic')?.coefficients ?? null,
        },
        metrics: { ...backtestMetrics(bt), chosen_model: serving.name, chosen_why: chosenWhy, customers: out.length, mean_churn_risk: mean },
      };
    },
  };
}

/** The chosen candidate refitted for serving: tfjs models on all backtest customers, BG/NBD on data up to now. */
async function servingScorer(
  chosen: CandidateName | null,
  calibration: RawFeatures[],
  current: RawFeatures[],
  features: readonly FeatureName[],
  horizonDays: number,
  bgnbdNow: ReturnType<typeof fitBaseline> | null,
  seed: number,
  train: Omit<TrainOptions, 'kind'> | undefined,
): Promise<ChurnScorer | null> {
  switch (chosen) {
    case 'logistic':
    case 'mlp':
      return trainClassifierScorer(chosen, calibration, features, { seed, ...train });
    case 'p_alive':
    case 'p_no_purchase':
      if (!bgnbdNow) return null;
      return bgnbdScorer(bgnbdNow.params, current, chosen === 'p_no_purchase' ? horizonDays / 7 : undefined);
    default:
      return null;
  }
}

export const churnJob: ModelJob = createChurnJob();
