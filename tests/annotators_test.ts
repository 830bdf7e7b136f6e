import {
  annotatorFromConfig,
  bayesCeiling,
  bradleyTerry,
  luceConditionalPCorrect,
  noiseless,
  type PairMode,
  plackettLuce,
  rankingToPairs,
  sigmoid,
} from "../lib/data/annotators.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { Rng } from "../lib/util/rng.ts";
import { assert, assertAlmostEquals, assertEquals, assertLess, assertThrows } from "./assert.ts";

/**
 * Check that `hits` successes out of independent Bernoulli trials with success
 * probabilities `ps` is within 4 standard errors of Σp (SE² = Σ p(1 − p)).
 */
function assertWithin4Se(hits: number, ps: readonly number[], what: string): void {
  const mean = ps.reduce((s, p) => s + p, 0);
  const se = Math.sqrt(ps.reduce((s, p) => s + p * (1 - p), 0));
  assertLess(
    Math.abs(hits - mean),
    4 * se,
    `${what}: ${hits} vs expected ${mean.toFixed(1)} ± ${se.toFixed(1)} (4 SE allowed)`,
  );
}

Deno.test({
  name: "bradleyTerry() label agreement over 20,000 pairs matches mean p_correct within 4 SE",
  fn() {
    const bt = bradleyTerry(0.3);
    const rng = new Rng(1);
    const ps: number[] = [];
    let agree = 0;
    for (let i = 0; i < 20_000; i++) {
      const ra = rng.next() * 2 - 1, rb = rng.next() * 2 - 1;
      const { aWins, pCorrect } = bt.comparePair(ra, rb, rng);
      assertEquals(pCorrect, sigmoid(Math.abs(ra - rb) / 0.3));
      ps.push(pCorrect);
      if (aWins === ra > rb) agree++;
    }
    assertWithin4Se(agree, ps, "agreement");
    assertAlmostEquals(bayesCeiling(ps), agree / 20_000, 0.02);
  },
});

Deno.test({
  name: "plackettLuce() first-place frequencies match softmax(r/τ) within 4 SE",
  fn() {
    const rewards = [0.5, 0.2, 0, -0.3];
    const tau = 0.3;
    const w = rewards.map((r) => Math.exp(r / tau));
    const z = w.reduce((s, x) => s + x, 0);
    const n = 20_000;
    const first = [0, 0, 0, 0];
    const above01 = { count: 0 };
    const rng = new Rng(2);
    const pl = plackettLuce(tau);
    for (let i = 0; i < n; i++) {
      const ranking = pl.rank(rewards, rng);
      assertEquals([...ranking].sort(), [0, 1, 2, 3]);
      first[ranking[0]!]!++;
      if (ranking.indexOf(0) < ranking.indexOf(3)) above01.count++;
    }
    for (let i = 0; i < 4; i++) {
      assertWithin4Se(first[i]!, Array(n).fill(w[i]! / z), `first place of item ${i}`);
    }
    // Luce's IIA: in a full ranking P(0 above 3) is the Bradley–Terry σ((r0 − r3)/τ).
    assertWithin4Se(above01.count, Array(n).fill(sigmoid((0.5 + 0.3) / tau)), "P(0 above 3)");
  },
});

/** Brute force over all k! rankings: P(label correct | pair taken by mode), pair {a, b}. */
function bruteConditional(rewards: number[], tau: number, a: number, b: number, mode: PairMode) {
  const k = rewards.length;
  let right = 0, wrong = 0;
  const perms = (xs: number[]): number[][] =>
    xs.length <= 1
      ? [xs]
      : xs.flatMap((x, i) => perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
  for (const perm of perms([...Array(k).keys()])) {
    let p = 1;
    for (let s = 0; s < k; s++) {
      const den = perm.slice(s).reduce((acc, m) => acc + Math.exp(rewards[m]! / tau), 0);
      p *= Math.exp(rewards[perm[s]!]! / tau) / den;
    }
    for (const [w, l] of rankingToPairs(perm, mode)) {
      if ((w === a && l === b) || (w === b && l === a)) {
        if (rewards[w]! > rewards[l]!) right += p;
        else wrong += p;
      }
    }
  }
  return right / (right + wrong);
}

Deno.test({
  name: "luceConditionalPCorrect() equals brute force over all rankings for each pair mode",
  fn() {
    const rewards = [1, 0.9, 0, -1, 0.4];
    const tau = 0.5;
    for (const mode of ["all", "adjacent", "best_worst"] as const) {
      for (let a = 0; a < 5; a++) {
        for (let b = a + 1; b < 5; b++) {
          assertAlmostEquals(
            luceConditionalPCorrect(rewards, tau, a, b, mode),
            bruteConditional(rewards, tau, a, b, mode),
            1e-12,
            `${mode} (${a}, ${b})`,
          );
        }
      }
    }
    // Conditioning matters: an adjacent pair is noisier than σ(|Δ|/τ), best–worst cleaner.
    const bt = sigmoid((1 - 0.9) / tau);
    assertLess(luceConditionalPCorrect(rewards, tau, 0, 1, "adjacent"), bt);
    assertLess(sigmoid(2 / tau), luceConditionalPCorrect(rewards, tau, 0, 3, "best_worst"));
  },
});

Deno.test({
  name: "plackettLuce().label() agreement matches mean p_correct within 4 SE for every pair mode",
  fn() {
    const pl = plackettLuce(0.4);
    for (const mode of ["all", "adjacent", "best_worst"] as const) {
      const rng = new Rng(3);
      let pairs = 0, residual = 0, residualSq = 0;
      while (pairs < 20_000) {
        const rewards = Array.from({ length: 4 }, () => rng.next() * 2 - 1);
        // Pairs from one ranking are correlated (transitivity), so the unit of sampling is
        // the ranking: its residual e = (#agreeing pairs − Σ p_correct) has mean 0 under
        // the claim, and the sum of e has standard error √(Σ e²) (cluster-robust).
        let e = 0;
        for (const { chosen, rejected, pCorrect } of pl.label(rewards, rng, mode)) {
          e += (rewards[chosen]! > rewards[rejected]! ? 1 : 0) - pCorrect;
          pairs++;
        }
        residual += e;
        residualSq += e * e;
      }
      const se = Math.sqrt(residualSq);
      assertLess(Math.abs(residual), 4 * se, `${mode}: residual ${residual} vs SE ${se}`);
    }
  },
});

Deno.test({
  name: "noiseless() ranks by reward with ties by index, p_correct 1 (0.5 at ties)",
  fn() {
    const a = noiseless();
    const rng = new Rng(0);
    assertEquals(a.rank([0.1, 0.5, 0.1, -1], rng), [1, 0, 2, 3]);
    assertEquals(a.pCorrect(0.3, -0.2), 1);
    assertEquals(a.pCorrect(0.3, 0.3), 0.5);
    assertEquals(a.comparePair(-1, 2, rng), { aWins: false, pCorrect: 1 });
    const labels = a.label([0.2, 0.9, -0.4], rng);
    assertEquals(labels.length, 3);
    for (const l of labels) assertEquals(l.pCorrect, 1);
    assertEquals(labels.map((l) => [l.chosen, l.rejected]), [[1, 0], [1, 2], [0, 2]]);
    assertEquals(bayesCeiling(labels), 1);
  },
});

Deno.test({
  name: "annotators are deterministic given the rng seed and never NaN for tiny τ",
  fn() {
    const rewards = [0.3, -0.1, 0.7, 0.2, 0.0];
    const a = plackettLuce(0.2).label(rewards, new Rng(9), "adjacent");
    const b = plackettLuce(0.2).label(rewards, new Rng(9), "adjacent");
    assertEquals(a, b);
    assertEquals(plackettLuce(1e-6).rank([0, 1, 2], new Rng(0)), [2, 1, 0]);
    for (const l of plackettLuce(1e-3).label([0, 1, 2, 3], new Rng(0), "adjacent")) {
      assert(l.pCorrect >= 0.5 && l.pCorrect <= 1, `p_correct ${l.pCorrect}`);
    }
    assertEquals(bradleyTerry(1).label([0.5], new Rng(0)), []);
  },
});

Deno.test({
  name: "rankingToPairs() gives all, adjacent and best–worst pairs",
  fn() {
    assertEquals(rankingToPairs([2, 0, 1], "all"), [[2, 0], [2, 1], [0, 1]]);
    assertEquals(rankingToPairs([2, 0, 1], "adjacent"), [[2, 0], [0, 1]]);
    assertEquals(rankingToPairs([2, 0, 1], "best_worst"), [[2, 1]]);
  },
});

Deno.test({
  name: "τ, pairs, rewards and configs are validated with messages naming the field",
  fn() {
    assertThrows(() => bradleyTerry(0), ConfigError, "tau must be a number > 0, got 0");
    assertThrows(() => plackettLuce(-1), ConfigError, "tau must be a number > 0, got -1");
    assertThrows(() => bradleyTerry(NaN), ConfigError, "tau");
    assertThrows(
      () => plackettLuce(1, { pairs: "some" as PairMode }),
      ConfigError,
      `pairs must be one of "all", "adjacent", "best_worst", got "some"`,
    );
    assertThrows(() => bradleyTerry(1).label([0, NaN], new Rng(0)), ConfigError, "rewards[1]");
    assertThrows(() => bayesCeiling([]), ConfigError, "at least one pair");
    const thirteen = Array.from({ length: 13 }, (_, i) => i / 13);
    assertThrows(
      () => plackettLuce(1).label(thirteen, new Rng(0), "adjacent"),
      ConfigError,
      "at most k = 12 completions per prompt",
    );
    assertEquals(plackettLuce(1).label(thirteen, new Rng(0)).length, 78); // "all" has no limit
    assertThrows(() => annotatorFromConfig({ tau: 0 }), ConfigError, "annotator.tau");
    assertEquals(annotatorFromConfig({ kind: "plackett_luce", tau: 0.5 }).name, "plackett_luce");
    assertEquals(annotatorFromConfig().tau, 0.2);
  },
});
