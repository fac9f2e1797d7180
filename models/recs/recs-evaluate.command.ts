// cvm recs evaluate: offline comparison of cvm's recommenders with two baselines on one interaction
// file, all models fitted and scored in the same run on the same split.
//
//   cvm recs evaluate --interactions FILE --format online-retail|movielens|generic
//                     --split time|stratified --k 10 [--cutoff 2011-09-01] [--tune] [--keep-seen] --json
//
// time split: train before the cut-off, test on later interactions of users who also appear in training.
// By default items a user already had in training are removed from the candidates (the shop wants to
// show something new) and therefore are not counted as relevant either; --keep-seen keeps repeats.
// stratified split: 75/25 per user at random (Microsoft Recommenders' MovieLens protocol).
import { parseArgs } from 'node:util';
import { UserError, type CliContext } from '../../lib/cli-context.ts';
import { Bpr } from './bpr.ts';
import { evaluateModels, type ModelResult } from './evaluate.ts';
import { maxTs, type Interactions } from './interactions.ts';
import { ItemKnn } from './item-knn.ts';
import { metricsJson } from './metrics.ts';
import type { Recommender } from './model.ts';
import { MostPopular } from './most-popular.ts';
import { FORMATS, InteractionFileError, parseTimestamp, readInteractions, type InteractionFormat } from './readers.ts';
import { Sar, SAR_DEFAULTS, SAR_TREND, type SarParams } from './sar.ts';
import { stratifiedSplit, timeSplit, type Split } from './splits.ts';
import { tuneSar, validationSplits } from './tune.ts';

const MODEL_NAMES = ['most-popular', 'item-knn', 'sar', 'sar-trend', 'bpr'] as const;
type ModelName = (typeof MODEL_NAMES)[number];

function intFlag(v: string | undefined, name: string, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UserError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

function quantileTs(data: Interactions, q: number): number {
  const ts = Float64Array.from(data.ts).sort();
  return ts[Math.min(ts.length - 1, Math.floor(q * ts.length))]!;
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      interactions: { type: 'string' },
      format: { type: 'string', default: 'generic' },
      split: { type: 'string', default: 'time' },
      k: { type: 'string' },
      cutoff: { type: 'string' },
      ratio: { type: 'string' },
      seed: { type: 'string' },
      models: { type: 'string' },
      tune: { type: 'boolean', default: false },
      'keep-seen': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.interactions) throw new UserError('--interactions FILE is required');
  const format = values.format as InteractionFormat;
  if (!FORMATS.includes(format)) throw new UserError(`--format must be one of ${FORMATS.join(', ')}`);
  if (values.split !== 'time' && values.split !== 'stratified') throw new UserError('--split must be time or stratified');
  const k = intFlag(values.k, 'k', 10, 1, 1000);
  const seed = intFlag(values.seed, 'seed', 42, 0, 2 ** 31 - 1);
  const ratio = values.ratio === undefined ? 0.75 : Number(values.ratio);
  if (!(ratio > 0 && ratio < 1)) throw new UserError('--ratio must be between 0 and 1');
  const wanted = (values.models ?? MODEL_NAMES.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const m of wanted) if (!(MODEL_NAMES as readonly string[]).includes(m)) throw new UserError(`unknown model ${m}; known: ${MODEL_NAMES.join(', ')}`);
  const keepSeen = values['keep-seen'];

  const t0 = performance.now();
  let read;
  try {
    read = await readInteractions(values.interactions, format);
  } catch (err) {
    if (err instanceof InteractionFileError) throw new UserError(err.message);
    throw err;
  }
  const { data, stats: readStats } = read;
  const readMs = performance.now() - t0;

  let split: Split;
  let cutoff: number | undefined;
  if (values.split === 'time') {
    if (values.cutoff !== undefined) {
      cutoff = parseTimestamp(values.cutoff);
      if (Number.isNaN(cutoff)) throw new UserError(`--cutoff is not a date: ${values.cutoff}`);
    } else cutoff = format === 'online-retail' ? Date.UTC(2011, 8, 1) : quantileTs(data, 0.8);
    split = timeSplit(data, cutoff);
    if (split.train.length === 0 || split.test.length === 0) throw new UserError(`--cutoff ${new Date(cutoff).toISOString()} leaves the train or test side empty`);
  } else split = stratifiedSplit(data, ratio, seed);

  // --tune: search SAR's parameters on validation windows carved from the training rows only and
  // report the result as an extra model, sar-tuned, next to the fixed configurations.
  let tuned: SarParams | null = null;
  let tuning: Record<string, unknown> | undefined;
  if (values.tune) {
    const t1 = performance.now();
    let trainStart = Infinity;
    for (const t of split.train.ts) if (t < trainStart) trainStart = t;
    const folds =
      values.split === 'time'
        ? validationSplits(split.train, { kind: 'time', cutoff: cutoff!, testSpanMs: maxTs(data) - cutoff!, trainStart })
        : validationSplits(split.train, { kind: 'stratified', ratio, seed });
    const r = tuneSar(
      folds.map((f) => f.split),
      { k, keepSeen, onTrial: (t) => ctx.log.debug({ ...t }, 'sar validation trial') },
    );
    tuned = r.best;
    const best = r.trials.find((t) => JSON.stringify(t.params) === JSON.stringify(r.best))!;
    tuning = {
      folds: folds.map((f, i) => ({
        ...(f.cutoff !== undefined ? { train_before: new Date(f.cutoff).toISOString(), validate_until: new Date(f.end!).toISOString() } : { seed: seed + 1 + i }),
        users: r.users[i],
      })),
      objective: `mean ndcg@${k} over folds`,
      trials: r.trials.length,
      best: r.best,
      best_validation: { [`ndcg@${k}`]: best.ndcg, [`precision@${k}`]: best.precision, folds: best.folds },
      seconds: Math.round((performance.now() - t1) / 100) / 10,
    };
  }

  const factories: Record<ModelName, () => Recommender> = {
    'most-popular': () => new MostPopular(),
    'item-knn': () => new ItemKnn(),
    sar: () => new Sar(SAR_DEFAULTS, 'sar'),
    'sar-trend': () => new Sar(SAR_TREND, 'sar-trend'),
    bpr: () => new Bpr(),
  };
  const models = wanted.map((n) => factories[n as ModelName]());
  if (tuned) models.push(new Sar(tuned, 'sar-tuned'));
  const { results, stats } = evaluateModels(models, split, { k, keepSeen });

  const table: Record<string, Record<string, number>> = {};
  for (const [name, r] of Object.entries(results)) table[name] = metricsJson(r.metrics, k);
  const out = {
    models: table,
    split: {
      kind: values.split,
      ...(cutoff !== undefined ? { cutoff: new Date(cutoff).toISOString() } : { ratio, seed }),
      keep_seen: keepSeen,
      ...stats,
    },
    read: { ...readStats, seconds: Math.round(readMs / 100) / 10 },
    params: Object.fromEntries(Object.entries(results).map(([n, r]) => [n, r.params])),
    seconds: Object.fromEntries(Object.entries(results).map(([n, r]: [string, ModelResult]) => [n, { fit: Math.round(r.fitMs / 100) / 10, score: Math.round(r.scoreMs / 100) / 10 }])),
    ...(tuning ? { tuning } : {}),
  };
  if (values.json) ctx.out(JSON.stringify(out, null, 2));
  else {
    ctx.out(`${values.split} split: ${stats.trainRows} train rows, ${stats.testRows} test rows, ${stats.evaluatedUsers} users evaluated, ${stats.trainItems} items`);
    const cols = [`precision@${k}`, `recall@${k}`, `ndcg@${k}`, `map@${k}`, 'coverage'];
    ctx.out(['model'.padEnd(14), ...cols.map((c) => c.padStart(13))].join(''));
    for (const [name, row] of Object.entries(table)) ctx.out([name.padEnd(14), ...cols.map((c) => row[c]!.toFixed(4).padStart(13))].join(''));
    if (tuning) ctx.out(`sar tuned on validation: ${JSON.stringify(tuning.best)}`);
  }
  return 0;
}
