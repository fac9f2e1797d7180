// Derivative-free minimisation for the model likelihoods: Nelder-Mead with restarts, run from several
// starting points. Parameters are optimised on the log scale, so every model parameter stays positive.

export interface MinimizeResult {
  x: number[];
  f: number;
  converged: boolean;
  evaluations: number;
}

export interface NelderMeadOptions {
  /** Initial simplex edge, in the units of x. */
  step?: number;
  /** Stop when the simplex's f values and vertices both lie within these tolerances. */
  fTol?: number;
  xTol?: number;
  maxEvaluations?: number;
  /** Fresh simplexes built around the best point after convergence; a collapsed simplex can stall early. */
  restarts?: number;
}

/** Nelder-Mead with the standard coefficients (reflect 1, expand 2, contract ½, shrink ½). */
export function nelderMead(f: (x: number[]) => number, x0: number[], opts: NelderMeadOptions = {}): MinimizeResult {
  const step = opts.step ?? 0.5;
  const fTol = opts.fTol ?? 1e-11;
  const xTol = opts.xTol ?? 1e-8;
  const maxEvaluations = opts.maxEvaluations ?? 20_000;
  const restarts = opts.restarts ?? 3;
  let evaluations = 0;
  const evalf = (x: number[]): number => {
    evaluations++;
    const v = f(x);
    return Number.isFinite(v) ? v : Infinity;
  };

  let best = x0.slice();
  let bestF = evalf(best);
  let converged = false;
  for (let round = 0; round <= restarts; round++) {
    const run = simplexRun(evalf, best, bestF, round === 0 ? step : step / 4, fTol, xTol, maxEvaluations - evaluations, () => evaluations);
    const improved = bestF - run.f;
    best = run.x;
    bestF = run.f;
    converged = run.converged;
    if (!converged) break;
    // A restart that finds nothing better confirms the optimum.
    if (round > 0 && !(improved > fTol)) break;
  }
  return { x: best, f: bestF, converged: converged && Number.isFinite(bestF), evaluations };
}

function simplexRun(
  f: (x: number[]) => number,
  x0: number[],
  f0: number,
  step: number,
  fTol: number,
  xTol: number,
  budget: number,
  count: () => number,
): { x: number[]; f: number; converged: boolean } {
  const n = x0.length;
  const start = count();
  const pts: number[][] = [x0.slice()];
  const fs: number[] = [f0];
  for (let i = 0; i < n; i++) {
    const p = x0.slice();
    p[i] = p[i]! + step;
    pts.push(p);
    fs.push(f(p));
  }
  const order = () => {
    const idx = pts.map((_, i) => i).sort((i, j) => fs[i]! - fs[j]!);
    const p2 = idx.map((i) => pts[i]!);
    const f2 = idx.map((i) => fs[i]!);
    for (let i = 0; i <= n; i++) {
      pts[i] = p2[i]!;
      fs[i] = f2[i]!;
    }
  };
  while (count() - start < budget) {
    order();
    const fBest = fs[0]!;
    const fWorst = fs[n]!;
    let spread = 0;
    for (let i = 1; i <= n; i++) for (let k = 0; k < n; k++) spread = Math.max(spread, Math.abs(pts[i]![k]! - pts[0]![k]!));
    if (Number.isFinite(fWorst) && fWorst - fBest <= fTol * (1 + Math.abs(fBest)) && spread <= xTol) {
      return { x: pts[0]!, f: fBest, converged: true };
    }
    const centroid = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) centroid[k]! += pts[i]![k]! / n;
    const worst = pts[n]!;
    const along = (t: number) => centroid.map((c, k) => c + t * (c - worst[k]!));
    const xr = along(1);
    const fr = f(xr);
    if (fr < fs[0]!) {
      const xe = along(2);
      const fe = f(xe);
      if (fe < fr) { pts[n] = xe; fs[n] = fe; } else { pts[n] = xr; fs[n] = fr; }
    } else if (fr < fs[n - 1]!) {
      pts[n] = xr;
      fs[n] = fr;
    } else {
      const outside = fr < fWorst;
      const xc = along(outside ? 0.5 : -0.5);
      const fc = f(xc);
      if (fc < (outside ? fr : fWorst)) {
        pts[n] = xc;
        fs[n] = fc;
      } else {
        for (let i = 1; i <= n; i++) {
          pts[i] = pts[i]!.map((v, k) => pts[0]![k]! + 0.5 * (v - pts[0]![k]!));
          fs[i] = f(pts[i]!);
        }
      }
    }
  }
  order();
  return { x: pts[0]!, f: fs[0]!, converged: false };
}

export interface MultiStartResult extends MinimizeResult {
  /** Every start's outcome, best first among the converged ones. */
  runs: (MinimizeResult & { start: number[] })[];
  startsConverged: number;
}

/**
 * Minimise from the starts in turn and keep the best converged result. A result with a coordinate
 * near ±bound (a parameter run off to 0 or infinity along a flat ridge) is not counted as converged.
 * Stops early once `agree` converged runs reached the same best value (to fTol): more starts would
 * only confirm it. Returns null when no start converged; the caller turns that into a message.
 */
export function multiStart(
  f: (x: number[]) => number,
  starts: number[][],
  opts: NelderMeadOptions & { bound?: number; agree?: number } = {},
): MultiStartResult | null {
  const bound = opts.bound ?? 20;
  const agree = opts.agree ?? 3;
  const sameTol = Math.max(opts.fTol ?? 1e-11, 1e-9);
  // A wall at ±bound stops a run that follows a ridge out to infinity; ending near the wall is not convergence.
  const walled = (x: number[]) => (x.some((v) => Math.abs(v) > bound) ? Infinity : f(x));
  const runs: MultiStartResult['runs'] = [];
  for (const s of starts) {
    const r = nelderMead(walled, s, opts);
    const inside = r.x.every((v) => Math.abs(v) < bound - 1);
    runs.push({ ...r, converged: r.converged && inside, start: s });
    const ok = runs.filter((q) => q.converged);
    const bestF = Math.min(...ok.map((q) => q.f));
    if (ok.filter((q) => q.f - bestF <= sameTol * (1 + Math.abs(bestF))).length >= agree) break;
  }
  const ok = runs.filter((r) => r.converged).sort((p, q) => p.f - q.f);
  const best = ok[0];
  if (!best) return null;
  return { x: best.x, f: best.f, converged: true, evaluations: runs.reduce((s, r) => s + r.evaluations, 0), runs, startsConverged: ok.length };
}
