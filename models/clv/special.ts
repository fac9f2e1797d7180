// Special functions the BG/NBD and Gamma-Gamma models need, in plain TypeScript.

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** ln Γ(x) for x > 0 (Lanczos, g=7, n=9: ~1e-15 relative); reflection below 0.5 gives ln|Γ(x)|. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const y = x - 1;
  let s = LANCZOS[0]!;
  for (let i = 1; i < 9; i++) s += LANCZOS[i]! / (y + i);
  const t = y + LANCZOS_G + 0.5;
  return HALF_LOG_2PI + (y + 0.5) * Math.log(t) - t + Math.log(s);
}

/** ln B(a, b). */
export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/** ln(e^u + e^v) without overflow; -Infinity stands for e^-inf = 0. */
export function logAddExp(u: number, v: number): number {
  if (u === -Infinity) return v;
  if (v === -Infinity) return u;
  return u > v ? u + Math.log1p(Math.exp(v - u)) : v + Math.log1p(Math.exp(u - v));
}

const MAX_TERMS = 2_000_000;
const EPS = 1e-16;

/** Σ (a)_n (b)_n / ((c)_n n!) z^n for 0 <= z < 1, summed until the tail bound is below EPS·|sum|. */
function hyp2f1Series(a: number, b: number, c: number, z: number): number {
  let term = 1;
  let sum = 1;
  for (let n = 0; n < MAX_TERMS; n++) {
    const ratio = ((a + n) * (b + n)) / ((c + n) * (n + 1)) * z;
    term *= ratio;
    sum += term;
    if (term === 0) return sum;
    // Tail bound: for m > n, ratio_m = z · (a+m)/(m+1) · (b+m)/(c+m) (or with a and b swapped), and each
    // factor is monotone in m towards 1, so it is at most max(1, its value at m = n+1). When that bound
    // rho is below 1 the tail is at most a geometric series. This holds from the first terms on, which
    // matters for fits with huge b and c (a degenerate BG/NBD), where waiting for n > c never ends.
    const m = n + 1;
    if (a + m > 0 && b + m > 0 && c + m > 0) {
      const up = (x: number) => Math.max(1, x);
      const rho = z * Math.min(up((a + m) / (m + 1)) * up((b + m) / (c + m)), up((b + m) / (m + 1)) * up((a + m) / (c + m)));
      if (rho < 1) {
        const tail = (Math.abs(term) * rho) / (1 - rho);
        if (tail <= EPS * Math.abs(sum)) return sum;
      }
    }
  }
  throw new Error(`hyp2f1(${a}, ${b}; ${c}; ${z}) did not converge in ${MAX_TERMS} terms`);
}

/**
 * (1 − z)^s · ₂F₁(a, b; c; z) for 0 <= z < 1. The scale is folded in because the models always
 * multiply by it, and for large a, b the two factors over- and underflow on their own.
 * NOTE: when c − a − b < 0 the plain series decays like n^(a+b−c−1)·z^n, slowly near z = 1; Euler's
 * transformation ₂F₁(a,b;c;z) = (1−z)^(c−a−b) ₂F₁(c−a, c−b; c; z) turns that into n^(c−a−b−1)·z^n.
 */
export function scaledHyp2f1(s: number, a: number, b: number, c: number, z: number): number {
  if (!(z >= 0 && z < 1)) throw new RangeError(`hyp2f1 needs 0 <= z < 1, got ${z}`);
  if (c <= 0 && Number.isInteger(c)) throw new RangeError(`hyp2f1 is undefined for c = ${c}`);
  if (z === 0) return 1;
  const log1mz = Math.log1p(-z);
  if (c - a - b < 0) return Math.exp((s + c - a - b) * log1mz) * hyp2f1Series(c - a, c - b, c, z);
  return Math.exp(s * log1mz) * hyp2f1Series(a, b, c, z);
}

/** Gauss hypergeometric ₂F₁(a, b; c; z) for z < 1 (Pfaff's transformation maps z < 0 into [0, 1)). */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  if (z < 0) {
    // ₂F₁(a,b;c;z) = (1−z)^(−a) ₂F₁(a, c−b; c; z/(z−1)), and 1 − z/(z−1) = 1/(1−z).
    const w = z / (z - 1);
    return scaledHyp2f1(a, a, c - b, c, w);
  }
  return scaledHyp2f1(0, a, b, c, z);
}
