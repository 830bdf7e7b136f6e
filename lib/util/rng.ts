/**
 * Seeded pseudo-random numbers for everything the kit draws in JavaScript
 * (data shuffles, annotator coin flips, sampling from logits).
 *
 * Algorithm: SplitMix32 seeding into xoshiro128** (Blackman & Vigna, 2018), which is
 * fast, has a 2^128 − 1 period and passes BigCrush; `Math.random` is never used so a
 * seed fixes every draw.
 *
 * @module
 */

/** A seeded generator. Not cryptographic. */
export class Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  /**
   * A generator whose whole stream is fixed by `seed`.
   * @param seed any integer; equal seeds give equal streams.
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * const a = new Rng(1).next(), b = new Rng(1).next();
   * if (a !== b) throw new Error("not deterministic");
   * ```
   */
  constructor(seed: number) {
    let x = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
    const split = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#s0 = split();
    this.#s1 = split();
    this.#s2 = split();
    this.#s3 = split();
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.#s1 << 9) >>> 0;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    this.#s0 >>>= 0;
    this.#s1 >>>= 0;
    this.#s2 >>>= 0;
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal draw (Box–Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Bernoulli(p) draw. */
  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = xs[i]!;
      xs[i] = xs[j]!;
      xs[j] = tmp;
    }
    return xs;
  }

  /**
   * Draw an index from unnormalised non-negative weights `w[offset .. offset+n)` (`n`
   * defaults to the rest of `w`).
   * Falls back to the last positive index on round-off.
   */
  categorical(w: ArrayLike<number>, offset = 0, n?: number): number {
    n ??= w.length - offset;
    let total = 0;
    for (let i = 0; i < n; i++) total += w[offset + i]!;
    let u = this.next() * total;
    let last = 0;
    for (let i = 0; i < n; i++) {
      const wi = w[offset + i]!;
      if (wi > 0) {
        last = i;
        u -= wi;
        if (u < 0) return i;
      }
    }
    return last;
  }

  /** A new generator whose stream depends on this one's seed and `salt` (for sub-streams). */
  fork(salt: number): Rng {
    return new Rng((this.nextUint32() ^ Math.imul(salt + 1, 0x9e3779b1)) >>> 0);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
