import { annotatorFromConfig } from "../lib/data/annotator_config.ts";
import { bayesCeiling, luceConditionalPCorrect } from "../lib/data/annotator_p_correct.ts";
import { bradleyTerry, noiseless, plackettLuce } from "../lib/data/annotators.ts";
import { davidson } from "../lib/data/davidson_ties.ts";
import { type PairMode, rankingToPairs } from "../lib/data/annotator_pairs.ts";
import { sigmoid } from "../lib/data/luce_model.ts";
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
    assertEquals(a.comparePair(-1, 2, rng), { aWins: false, tie: false, pCorrect: 1 });
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
    assertThrows(() => annotatorFromConfig({ nu: -1 }), ConfigError, "annotator.nu must be");
    assertThrows(() => bradleyTerry(1, { nu: -0.5 }), ConfigError, "nu must be a number >= 0");
    assertThrows(() => noiseless({ nu: NaN }), ConfigError, "nu must be");
    assertEquals(annotatorFromConfig().nu, 0);
    assertEquals(annotatorFromConfig({ kind: "noiseless", nu: 2 }).nu, 2);
  },
});

// ---------------------------------------------------------------------------------------
// Ties (Davidson 1970).

Deno.test({
  name: "davidson() gives the three outcome probabilities of hand-computed cases",
  fn() {
    // Δ = 2τ·ln 2 → e^{Δ/2τ} = 2, e^{−Δ/2τ} = 1/2; with ν = 1.5, Z = 4.
    const tau = 0.3, delta = 2 * tau * Math.LN2;
    const p = davidson(delta, tau, 1.5);
    assertAlmostEquals(p.aWins, 0.5, 1e-15);
    assertAlmostEquals(p.tie, 0.375, 1e-15);
    assertAlmostEquals(p.bWins, 0.125, 1e-15);
    const q = davidson(-delta, tau, 1.5); // mirrored
    assertAlmostEquals(q.aWins, 0.125, 1e-15);
    assertAlmostEquals(q.bWins, 0.5, 1e-15);
    // Equal rewards: P(tie) = ν/(2 + ν); ν = 2 → one half, the rest split evenly.
    assertEquals(davidson(0, 0.1, 2), { aWins: 0.25, tie: 0.5, bWins: 0.25 });
    // ν = 0 is Bradley–Terry; tiny τ does not overflow.
    assertAlmostEquals(davidson(0.2, 0.1, 0).aWins, sigmoid(2), 1e-15);
    assertEquals(davidson(5, 1e-6, 3), { aWins: 1, tie: 0, bWins: 0 });
    // Untied, the label is the Bradley–Terry one: P(a | no tie) = σ(Δ/τ).
    const r = davidson(0.17, 0.2, 4);
    assertAlmostEquals(r.aWins / (r.aWins + r.bWins), sigmoid(0.17 / 0.2), 1e-15);
    assertAlmostEquals(bradleyTerry(0.2, { nu: 4 }).pTie(0.17, 0), r.tie, 1e-15);
  },
});

Deno.test({
  name:
    "bradleyTerry() with ν: tie, a-wins and untied agreement frequencies match Davidson within 4 SE",
  fn() {
    const tau = 0.2, nu = 1.2;
    const bt = bradleyTerry(tau, { nu });
    const rng = new Rng(5);
    const pTie: number[] = [], pA: number[] = [], pAgree: number[] = [];
    let ties = 0, aWins = 0, agree = 0;
    for (let i = 0; i < 20_000; i++) {
      // Every fourth pair has equal rewards, as VADER's many neutral completions do.
      const ra = Math.round(rng.next() * 4) / 4, rb = i % 4 === 0 ? ra : rng.next() - 0.5;
      const p = davidson(ra - rb, tau, nu);
      pTie.push(p.tie);
      pA.push(p.aWins);
      const out = bt.comparePair(ra, rb, rng);
      if (out.tie) {
        ties++;
        assert(Number.isNaN(out.pCorrect) && !out.aWins, "a tie has no winner and no p_correct");
        continue;
      }
      if (out.aWins) aWins++;
      assertEquals(out.pCorrect, bt.pCorrect(ra, rb));
      pAgree.push(out.pCorrect);
      // Agreement with the true order; at equal rewards "a" is counted as the true order,
      // which p_correct = 0.5 covers.
      if (out.aWins === ra >= rb) agree++;
    }
    assertWithin4Se(ties, pTie, "ties");
    assertWithin4Se(aWins, pA, "a wins");
    assertWithin4Se(agree, pAgree, "untied agreement");
  },
});

Deno.test({
  name:
    "plackettLuce() with ν: per-pair ties and untied agreement match pTie and p_correct within 4 SE in every mode",
  fn() {
    const pl = plackettLuce(0.4, { nu: 0.8 });
    for (const mode of ["all", "adjacent", "best_worst"] as const) {
      const rng = new Rng(8);
      let pairs = 0;
      const sums = { tie: 0, tieSq: 0, agree: 0, agreeSq: 0 };
      while (pairs < 20_000) {
        const rewards = Array.from({ length: 4 }, () => Math.round(rng.next() * 4) / 4 - 0.5);
        // Residuals per ranking (cluster-robust SE, as in the test without ties): a tie
        // is drawn with pTie for every taken pair, and an untied pair agrees with p_correct.
        let eTie = 0, eAgree = 0;
        for (const l of pl.label(rewards, rng, mode)) {
          const rw = rewards[l.chosen]!, rl = rewards[l.rejected]!;
          eTie += (l.tie ? 1 : 0) - pl.pTie(rw, rl);
          if (!l.tie) {
            assertEquals(
              l.pCorrect,
              luceConditionalPCorrect(rewards, 0.4, l.chosen, l.rejected, mode),
            );
            eAgree += (rw > rl ? 1 : rw === rl ? 0.5 : 0) - l.pCorrect;
          }
          pairs++;
        }
        sums.tie += eTie;
        sums.tieSq += eTie * eTie;
        sums.agree += eAgree;
        sums.agreeSq += eAgree * eAgree;
      }
      assertLess(Math.abs(sums.tie), 4 * Math.sqrt(sums.tieSq), `${mode}: ties ${sums.tie}`);
      assertLess(Math.abs(sums.agree), 4 * Math.sqrt(sums.agreeSq), `${mode}: agree ${sums.agree}`);
    }
  },
});

Deno.test({
  name: "annotators with ν = 0 draw exactly the random numbers of the annotator without ties",
  fn() {
    const rewards = [0.3, -0.1, 0.3, 0.2, 0.0];
    for (const mode of ["all", "adjacent", "best_worst"] as const) {
      const a = new Rng(4), b = new Rng(4);
      const labels = plackettLuce(0.2, { nu: 0 }).label(rewards, a, mode);
      const ranking = plackettLuce(0.2).rank(rewards, b);
      assertEquals(labels.map((l) => [l.chosen, l.rejected]), rankingToPairs(ranking, mode));
      assert(labels.every((l) => !l.tie));
      assertEquals(a.next(), b.next(), `${mode}: the streams stay in step`);
    }
    const a = new Rng(6), b = new Rng(6);
    const out = bradleyTerry(0.3).comparePair(0.1, 0.4, a);
    assertEquals(out.aWins, b.next() < sigmoid((0.1 - 0.4) / 0.3));
    assertEquals(a.next(), b.next());
  },
});

Deno.test({
  name: "noiseless() with ν ties only equal rewards, with probability ν/(2 + ν)",
  fn() {
    const a = noiseless({ nu: 2 });
    assertEquals(a.pTie(0.5, 0.5), 0.5);
    assertEquals(a.pTie(0.5, 0.4), 0);
    const rng = new Rng(2);
    let ties = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const labels = a.label([0.1, 0.1, 0.7], rng);
      for (const l of labels) {
        const equal = l.chosen !== 2 && l.rejected !== 2;
        if (l.tie) assert(equal, "only the equal pair can tie");
        if (equal && l.tie) ties++;
        if (!l.tie) assertEquals(l.pCorrect, equal ? 0.5 : 1);
      }
    }
    assertWithin4Se(ties, Array(n).fill(0.5), "ties of the equal pair");
    // Without equal rewards no draw is made: the labels do not depend on the stream.
    assertEquals(a.label([0.2, 0.9, -0.4], new Rng(1)), a.label([0.2, 0.9, -0.4], new Rng(99)));
  },
});

/** All permutations of `xs`. */
function permutations(xs: number[]): number[][] {
  return xs.length <= 1
    ? [xs]
    : xs.flatMap((x, i) =>
      permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p])
    );
}

/**
 * Brute force over every Plackett–Luce ranking and every tie pattern of its taken pairs
 * (each pair tied with Davidson's P(tie), independently): the best accuracy any ordering
 * of the k items reaches on untied pairs, E[#agreeing untied] / E[#untied], maximised over
 * the k! orderings; and the annotator's ceiling, E[Σ_untied p_correct] / E[#untied].
 */
function bruteCeilings(rewards: number[], tau: number, nu: number, mode: PairMode) {
  const k = rewards.length;
  const items = [...Array(k).keys()];
  const orders = permutations(items);
  const agree = new Array(orders.length).fill(0);
  let untied = 0, ceiling = 0;
  for (const perm of permutations(items)) {
    let p = 1;
    for (let s = 0; s < k; s++) {
      const den = perm.slice(s).reduce((acc, m) => acc + Math.exp(rewards[m]! / tau), 0);
      p *= Math.exp(rewards[perm[s]!]! / tau) / den;
    }
    for (const [w, l] of rankingToPairs(perm, mode)) {
      // Pairs tie independently, so E[·] is a sum over pairs of P(untied)·(…).
      const pUntied = p * (1 - davidson(rewards[w]! - rewards[l]!, tau, nu).tie);
      untied += pUntied;
      ceiling += pUntied * luceConditionalPCorrect(rewards, tau, w, l, mode);
      orders.forEach((o, j) => {
        if (o.indexOf(w) < o.indexOf(l)) agree[j] += pUntied;
      });
    }
  }
  return { brute: Math.max(...agree) / untied, annotator: ceiling / untied };
}

Deno.test({
  name:
    "the Bayes ceiling over untied pairs equals brute force over rankings, tie patterns and orderings",
  fn() {
    const cases: [number[], number][] = [
      [[0.4, 0.4, -0.2], 0.3], // two equal rewards
      [[1, 0.9, 0, -1], 0.5],
      [[0.2, 0, 0, 0.2], 0.25], // two pairs of equal rewards
    ];
    for (const [rewards, tau] of cases) {
      for (const mode of ["all", "adjacent", "best_worst"] as const) {
        const { brute, annotator } = bruteCeilings(rewards, tau, 1.5, mode);
        assertAlmostEquals(annotator, brute, 1e-12, `${mode} ${rewards}`);
      }
    }
  },
});

Deno.test({
  name: "bayesCeiling() leaves tie labels out and names a NaN as a tie row",
  fn() {
    assertEquals(
      bayesCeiling([
        { chosen: 0, rejected: 1, pCorrect: 0.9, tie: false },
        { chosen: 1, rejected: 2, pCorrect: NaN, tie: true },
        { chosen: 0, rejected: 2, pCorrect: 0.5, tie: false },
      ]),
      0.7,
    );
    assertThrows(() => bayesCeiling([0.9, NaN]), ConfigError, "tie rows store NaN");
    assertThrows(
      () => bayesCeiling([{ chosen: 0, rejected: 1, pCorrect: NaN, tie: true }]),
      ConfigError,
      "at least one pair that is not a tie",
    );
  },
});
