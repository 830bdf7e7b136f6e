/**
 * Correlation coefficients for comparing rewards: e.g. a reward model's scores against the
 * gold reward on held-out completions (rank agreement is what matters for RLHF, since a
 * policy optimised against the proxy only follows its ordering and scale).
 *
 * All functions take plain numbers and return NaN when a coefficient is undefined (fewer
 * than 2 values, or an input with no variation), as scipy.stats does.
 *
 * @module
 */
import { ConfigError } from "../util/errors.ts";

/**
 * Ranks 1..n with ties given their average rank ("fractional" ranking).
 * @example
 * ```ts
 * import { averageRanks } from "./rank.ts";
 * const r = averageRanks([10, 20, 20, 5]); // [2, 3.5, 3.5, 1]
 * if (r[1] !== 3.5) throw new Error();
 * ```
 */
export function averageRanks(xs: ArrayLike<number>): Float64Array {
  const n = xs.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => xs[i]! - xs[j]!);
  const ranks = new Float64Array(n);
  for (let a = 0; a < n;) {
    let b = a;
    while (b + 1 < n && xs[order[b + 1]!] === xs[order[a]!]) b++;
    const avg = (a + b) / 2 + 1; // positions a..b hold rank a+1..b+1
    for (let t = a; t <= b; t++) ranks[order[t]!] = avg;
    a = b + 1;
  }
  return ranks;
}

/**
 * Pearson's r = Σ(a−ā)(b−b̄) / √(Σ(a−ā)² Σ(b−b̄)²).
 * @throws ConfigError when the lengths differ or a value is not finite.
 */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  check(a, b, "pearson");
  const n = a.length;
  if (n < 2) return NaN;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma, db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return NaN;
  return Math.max(-1, Math.min(1, sab / Math.sqrt(saa * sbb)));
}

/**
 * Spearman's ρ: Pearson's r of the average ranks (ties share their mean rank), which
 * equals scipy.stats.spearmanr.
 * @throws ConfigError when the lengths differ or a value is not finite.
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  check(a, b, "spearman");
  return pearson(averageRanks(a), averageRanks(b));
}

/**
 * Kendall's τ_b = (C − D) / √((C + D + T_a)(C + D + T_b)), with C concordant and D
 * discordant pairs, T_a pairs tied only in a, T_b pairs tied only in b (pairs tied in both
 * count nowhere); equals scipy.stats.kendalltau. O(n²): meant for n up to ~10⁴.
 * @throws ConfigError when the lengths differ or a value is not finite.
 */
export function kendallTau(a: ArrayLike<number>, b: ArrayLike<number>): number {
  check(a, b, "kendallTau");
  const n = a.length;
  let c = 0, d = 0, ta = 0, tb = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const sa = Math.sign(a[i]! - a[j]!), sb = Math.sign(b[i]! - b[j]!);
      if (sa === 0 && sb === 0) continue;
      if (sa === 0) ta++;
      else if (sb === 0) tb++;
      else if (sa === sb) c++;
      else d++;
    }
  }
  const den = Math.sqrt((c + d + ta) * (c + d + tb));
  return den === 0 ? NaN : (c - d) / den;
}

function check(a: ArrayLike<number>, b: ArrayLike<number>, fn: string): void {
  if (a.length !== b.length) {
    throw new ConfigError(`${fn} needs two lists of one length, got ${a.length} and ${b.length}`);
  }
  for (const [name, xs] of [["a", a], ["b", b]] as const) {
    for (let i = 0; i < xs.length; i++) {
      if (!Number.isFinite(xs[i])) {
        throw new ConfigError(`${fn}: ${name}[${i}] must be a finite number, got ${xs[i]}`);
      }
    }
  }
}
