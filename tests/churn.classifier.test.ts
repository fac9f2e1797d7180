import { describe, expect, it } from 'vitest';
import { ChurnClassifier, seededRandom, sigmoid } from '../models/churn/classifier.ts';
import { auc } from '../models/churn/metrics.ts';
import { tfBackendName } from '../models/churn/tf-backend.ts';

/** n rows of f uniform inputs; churn when 3·x0 − 2·x1 + noise > threshold (x2.. are noise). */
function problem(n: number, f: number, seed: number, threshold = 0) {
  const rand = seededRandom(seed);
  const X = new Float64Array(n * f);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) X[i * f + j] = rand() * 2 - 1;
    y[i] = 3 * X[i * f]! - 2 * X[i * f + 1]! + (rand() - 0.5) * 0.3 > threshold ? 1 : 0;
  }
  return { X, y, names: Array.from({ length: f }, (_, j) => `x${j}`) };
}

describe('tfjs churn classifiers', () => {
  it('runs on the wasm backend (or native tfjs-node when installed)', async () => {
    expect(['wasm', 'tensorflow']).toContain(await tfBackendName());
  });

  for (const kind of ['logistic', 'mlp'] as const) {
    it(`${kind} learns a separable problem (held-out AUC > 0.9)`, async () => {
      const train = problem(2000, 6, 1);
      const test = problem(1000, 6, 2);
      const model = await ChurnClassifier.train(train.X, train.y, train.names, { kind, targetSteps: 300, seed: 3 });
      const p = model.predict(test.X);
      expect(auc(p, test.y)).toBeGreaterThan(0.9);
      for (const v of p) expect(v >= 0 && v <= 1).toBe(true);
    });
  }

  it('is deterministic for a seed', async () => {
    const { X, y, names } = problem(500, 4, 5);
    const a = await ChurnClassifier.train(X, y, names, { kind: 'mlp', targetSteps: 60, seed: 11 });
    const b = await ChurnClassifier.train(X, y, names, { kind: 'mlp', targetSteps: 60, seed: 11 });
    expect(Array.from(b.predict(X))).toEqual(Array.from(a.predict(X)));
  });

  it('class balancing plus the prior correction keeps probabilities at the real base rate', async () => {
    // About 15% churners: balanced weights alone would centre predictions near 50%.
    const { X, y, names } = problem(3000, 4, 7, 1.9);
    const rate = y.reduce((s, v) => s + v, 0) / y.length;
    expect(rate).toBeGreaterThan(0.08);
    expect(rate).toBeLessThan(0.25);
    const model = await ChurnClassifier.train(X, y, names, { kind: 'logistic', targetSteps: 300 });
    const mean = model.predict(X).reduce((s, v) => s + v, 0) / y.length;
    expect(Math.abs(mean - rate)).toBeLessThan(0.05);
    expect(model.state.priorOffset).toBeCloseTo(Math.log(rate / (1 - rate)), 10);
  });

  it('logistic contributions add up to the logit', async () => {
    const { X, y, names } = problem(400, 3, 9);
    const model = await ChurnClassifier.train(X, y, names, { kind: 'logistic', targetSteps: 100 });
    const logits = model.logits(X);
    const contrib = model.contributions(X);
    const state = model.state;
    // logit(average customer) = bias + prior offset, since every standardised input is 0 there.
    const base = state.layers[0]!.b[0]! + state.priorOffset;
    for (let i = 0; i < 20; i++) {
      const sum = base + contrib[i * 3]! + contrib[i * 3 + 1]! + contrib[i * 3 + 2]!;
      expect(sum).toBeCloseTo(logits[i]!, 4);
      expect(sigmoid(logits[i]!)).toBeCloseTo(model.predict(X.subarray(i * 3, i * 3 + 3))[0]!, 6);
    }
  });
});
