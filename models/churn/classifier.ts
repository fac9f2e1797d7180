// Binary churn classifiers on tfjs: logistic regression and a one-hidden-layer MLP, trained with Adam
// on standardised inputs. The training loop is our own (not tf.layers' fit) so that initial weights and
// batch order come from a seeded generator and two runs on the same data give the same model.
import { initTf, type Tf } from './tf-backend.ts';
import type * as TF from '@tensorflow/tfjs';
import { mulberry32 as seededRandom } from '../../lib/random.ts';

/** Small deterministic PRNG, re-exported for the churn code's callers. */
export { seededRandom };

export type ClassifierKind = 'logistic' | 'mlp';

export interface TrainOptions {
  kind: ClassifierKind;
  /** Passes over the data; by default enough for about `targetSteps` optimiser steps. */
  epochs?: number;
  targetSteps?: number;
  batchSize?: number;
  learningRate?: number;
  l2?: number;
  hidden?: number;
  seed?: number;
  /** Weight classes to equal total weight while training; the bias is corrected afterwards (see below). */
  balanceClasses?: boolean;
}

interface Layer {
  W: number[][]; // [in][out]
  b: number[];
}

export interface ClassifierState {
  kind: ClassifierKind;
  featureNames: string[];
  mean: number[];
  std: number[];
  layers: Layer[];
  /** Added to every logit: log(positives / negatives) when classes were balanced, else 0. */
  priorOffset: number;
  trainedOn: { rows: number; positives: number; epochs: number; steps: number; finalLoss: number };
}


function shuffled(n: number, rand: () => number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

function glorot(rows: number, cols: number, rand: () => number): number[][] {
  const limit = Math.sqrt(6 / (rows + cols));
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => (rand() * 2 - 1) * limit));
}

export class ChurnClassifier {
  private constructor(readonly state: ClassifierState, private readonly tf: Tf) {}

  get kind(): ClassifierKind {
    return this.state.kind;
  }

  get featureNames(): string[] {
    return this.state.featureNames;
  }

  /**
   * Train on a row-major matrix X (rows × featureNames.length) and labels y in {0, 1}.
   * NOTE: with balanced class weights the fitted intercept describes a 50/50 world; adding
   * log(n₁/n₀) moves it back to the real base rate (King & Zeng's prior correction), so the
   * output stays a calibrated probability instead of being pulled towards 0.5.
   */
  static async train(X: ArrayLike<number>, y: ArrayLike<number>, featureNames: string[], opts: TrainOptions): Promise<ChurnClassifier> {
    const tf = await initTf();
    const f = featureNames.length;
    const n = y.length;
    if (X.length !== n * f) throw new Error(`X has ${X.length} values, expected ${n} × ${f}`);
    if (n === 0) throw new Error('no training rows');
    const positives = Array.from(y).reduce((s, v) => s + (v === 1 ? 1 : 0), 0);
    if (positives === 0 || positives === n) throw new Error('training labels hold a single class');

    const { mean, std } = standardiser(X, n, f);
    const Z = standardise(X, n, f, mean, std);
    const balance = opts.balanceClasses ?? true;
    const wPos = balance ? n / (2 * positives) : 1;
    const wNeg = balance ? n / (2 * (n - positives)) : 1;
    const weights = Float32Array.from(y, (v) => (v === 1 ? wPos : wNeg));

    const seed = opts.seed ?? 42;
    const rand = seededRandom(seed);
    const hidden = opts.hidden ?? 16;
    const init: Layer[] =
      opts.kind === 'logistic'
        ? [{ W: Array.from({ length: f }, () => [0]), b: [0] }]
        : [
            { W: glorot(f, hidden, rand), b: new Array<number>(hidden).fill(0) },
            { W: glorot(hidden, 1, rand), b: [0] },
          ];
    const batchSize = Math.min(opts.batchSize ?? 128, n);
    const stepsPerEpoch = Math.ceil(n / batchSize);
    const epochs = opts.epochs ?? Math.min(200, Math.max(5, Math.ceil((opts.targetSteps ?? 1500) / stepsPerEpoch)));
    const l2 = opts.l2 ?? 1e-4;
    const lr = opts.learningRate ?? (opts.kind === 'logistic' ? 0.05 : 0.01);

    const vars = init.map((l) => ({
      W: tf.variable(tf.tensor2d(l.W, [l.W.length, l.b.length]), true),
      b: tf.variable(tf.tensor1d(l.b), true),
    }));
    const Xt = tf.tensor2d(Z, [n, f]);
    const yt = tf.tensor1d(Float32Array.from(y));
    const wt = tf.tensor1d(weights);
    const optimizer = tf.train.adam(lr);
    let finalLoss = NaN;
    let steps = 0;
    try {
      for (let epoch = 0; epoch < epochs; epoch++) {
        const order = shuffled(n, rand);
        let epochLoss = 0;
        for (let start = 0; start < n; start += batchSize) {
          const idx = order.subarray(start, Math.min(n, start + batchSize));
          const cost = tf.tidy((): TF.Scalar | undefined => {
            const it = tf.tensor1d(idx, 'int32');
            const xb = tf.gather(Xt, it);
            const yb = tf.gather(yt, it);
            const wb = tf.gather(wt, it);
            // Reading the loss back costs a sync, so only the last epoch reports it.
            return optimizer.minimize(() => weightedLoss(tf, forward(tf, vars, xb), yb, wb, vars, l2), epoch === epochs - 1) ?? undefined;
          });
          if (cost) {
            epochLoss += (await cost.data())[0]! * idx.length;
            cost.dispose();
          }
          steps++;
        }
        finalLoss = epochLoss / n;
      }
      const layers: Layer[] = [];
      for (const v of vars) {
        layers.push({ W: (await v.W.array()) as number[][], b: Array.from(await v.b.data()) });
      }
      const state: ClassifierState = {
        kind: opts.kind,
        featureNames: [...featureNames],
        mean,
        std,
        layers,
        priorOffset: balance ? Math.log(positives / (n - positives)) : 0,
        trainedOn: { rows: n, positives, epochs, steps, finalLoss },
      };
      return new ChurnClassifier(state, tf);
    } finally {
      optimizer.dispose();
      for (const v of vars) {
        v.W.dispose();
        v.b.dispose();
      }
      Xt.dispose();
      yt.dispose();
      wt.dispose();
    }
  }

  static async fromState(state: ClassifierState): Promise<ChurnClassifier> {
    return new ChurnClassifier(state, await initTf());
  }

  /** Logits for a raw (unstandardised) row-major matrix. */
  logits(X: ArrayLike<number>): Float64Array {
    const f = this.state.featureNames.length;
    const n = X.length / f;
    return this.logitsOfStandardised(standardise(X, n, f, this.state.mean, this.state.std), n);
  }

  /** Churn probabilities for a raw row-major matrix. */
  predict(X: ArrayLike<number>): Float64Array {
    return this.logits(X).map(sigmoid);
  }

  /**
   * Per-row, per-feature contribution to the logit relative to an average customer (all standardised
   * inputs 0), row-major like X. Logistic: coefficient × standardised value, which adds up exactly to
   * logit − logit(average). MLP: occlusion, logit − logit with that one input set to average.
   */
  contributions(X: ArrayLike<number>): Float64Array {
    const f = this.state.featureNames.length;
    const n = X.length / f;
    const Z = standardise(X, n, f, this.state.mean, this.state.std);
    const out = new Float64Array(n * f);
    if (this.state.kind === 'logistic') {
      const w = this.state.layers[0]!.W.map((row) => row[0]!);
      for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) out[i * f + j] = Z[i * f + j]! * w[j]!;
      return out;
    }
    const full = this.logitsOfStandardised(Z, n);
    for (let j = 0; j < f; j++) {
      const occluded = Z.slice();
      for (let i = 0; i < n; i++) occluded[i * f + j] = 0;
      const part = this.logitsOfStandardised(occluded, n);
      for (let i = 0; i < n; i++) out[i * f + j] = full[i]! - part[i]!;
    }
    return out;
  }

  /** Logistic coefficients by feature name (per standard deviation of the model input). */
  coefficients(): Record<string, number> | null {
    if (this.state.kind !== 'logistic') return null;
    const w = this.state.layers[0]!.W;
    return Object.fromEntries(this.state.featureNames.map((name, j) => [name, w[j]![0]!]));
  }

  private logitsOfStandardised(Z: Float32Array, n: number): Float64Array {
    const tf = this.tf;
    const f = this.state.featureNames.length;
    if (n === 0) return new Float64Array(0);
    const values = tf.tidy(() => {
      const vars = this.state.layers.map((l) => ({ W: tf.tensor2d(l.W, [l.W.length, l.b.length]), b: tf.tensor1d(l.b) }));
      return forward(tf, vars, tf.tensor2d(Z, [n, f]));
    });
    const data = values.dataSync();
    values.dispose();
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = data[i]! + this.state.priorOffset;
    return out;
  }
}

function forward(tf: Tf, vars: { W: TF.Tensor; b: TF.Tensor }[], x: TF.Tensor): TF.Tensor1D {
  let h = x as TF.Tensor2D;
  vars.forEach((v, i) => {
    const z = tf.add(tf.matMul(h, v.W as TF.Tensor2D), v.b) as TF.Tensor2D;
    h = i < vars.length - 1 ? tf.relu(z) : z;
  });
  return tf.reshape(h, [-1]) as TF.Tensor1D;
}

/** Class-weighted binary cross-entropy on logits (numerically stable form) plus L2 on the weights. */
function weightedLoss(tf: Tf, logits: TF.Tensor1D, y: TF.Tensor1D, w: TF.Tensor1D, vars: { W: TF.Tensor }[], l2: number): TF.Scalar {
  const ce = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, y)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
  const data = tf.div(tf.sum(tf.mul(ce, w)), tf.sum(w));
  const penalty = vars.reduce<TF.Tensor>((s, v) => tf.add(s, tf.sum(tf.square(v.W))), tf.scalar(0));
  return tf.add(data, tf.mul(penalty, l2)) as TF.Scalar;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

function standardiser(X: ArrayLike<number>, n: number, f: number): { mean: number[]; std: number[] } {
  const mean = new Array<number>(f).fill(0);
  const std = new Array<number>(f).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) mean[j]! += X[i * f + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) std[j]! += (X[i * f + j]! - mean[j]!) ** 2 / n;
  // A constant input gets std 1 so it standardises to 0 and carries no weight.
  return { mean, std: std.map((v) => (v > 1e-12 ? Math.sqrt(v) : 1)) };
}

function standardise(X: ArrayLike<number>, n: number, f: number, mean: number[], std: number[]): Float32Array {
  const Z = new Float32Array(n * f);
  for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) Z[i * f + j] = (X[i * f + j]! - mean[j]!) / std[j]!;
  return Z;
}
