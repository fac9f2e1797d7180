// Draws customers from the BG/NBD and Gamma-Gamma generative processes, with a seeded generator, for
// parameter-recovery tests and synthetic shop data.
import type { BgNbdParams } from './bgnbd.ts';
import type { GammaGammaParams } from './gamma-gamma.ts';

import { mulberry32 as rng } from '../../lib/random.ts';
export { rng };

function normal(u: () => number): number {
  const u1 = u() || 1e-300;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u());
}

/** Gamma(shape, rate) by Marsaglia-Tsang; shape < 1 through the U^(1/shape) boost. */
export function gammaDraw(u: () => number, shape: number, rate: number): number {
  if (shape < 1) return gammaDraw(u, shape + 1, rate) * Math.pow(u() || 1e-300, 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let z: number;
    let v: number;
    do {
      z = normal(u);
      v = 1 + c * z;
    } while (v <= 0);
    v = v * v * v;
    const w = u();
    if (Math.log(w) < 0.5 * z * z + d - d * v + d * Math.log(v)) return (d * v) / rate;
  }
}

function betaDraw(u: () => number, a: number, b: number): number {
  const x = gammaDraw(u, a, 1);
  const y = gammaDraw(u, b, 1);
  return x / (x + y);
}

export interface SimulatedCustomer {
  /** Purchase times from the first purchase (0) on, within the observation length T. */
  times: number[];
  /** Value of each purchase, the first included. */
  values: number[];
  T: number;
}

/**
 * One customer per entry of `lengths` (their observation length T). Purchases follow a Poisson process
 * with rate λ ~ Gamma(r, α) while alive; after each repeat purchase the customer drops out with
 * probability p ~ Beta(a, b) (the first purchase never ends a customer, as in FHL 2005). Each purchase
 * is worth Gamma(p, ν) with ν ~ Gamma(q, γ).
 */
export function simulateCustomers(bg: BgNbdParams, gg: GammaGammaParams, lengths: number[], seed: number): SimulatedCustomer[] {
  const u = rng(seed);
  return lengths.map((T) => {
    const lambda = gammaDraw(u, bg.r, bg.alpha);
    const pDrop = betaDraw(u, bg.a, bg.b);
    const nu = gammaDraw(u, gg.q, gg.gamma);
    const times = [0];
    let t = 0;
    for (;;) {
      t += -Math.log(u() || 1e-300) / lambda;
      if (t > T) break;
      times.push(t);
      if (u() < pDrop) break;
    }
    return { times, values: times.map(() => gammaDraw(u, gg.p, nu)), T };
  });
}
