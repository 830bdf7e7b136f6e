import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { drawBanditPreferences, makeBanditTask, tabularStats } from "../lib/data/bandit.ts";
import { ipoOptimalLogPolicy, optimalLogPolicy, oracleStats } from "../lib/eval/oracle.ts";
import { trainBanditDpo } from "../lib/train/bandit_dpo.ts";
import { trainBanditPpo } from "../lib/train/bandit_ppo.ts";
import type { MetricRow } from "../lib/train/metrics.ts";
import { ConfigError } from "../lib/util/errors.ts";
import {
  assert,
  assertAllClose,
  assertAlmostEquals,
  assertEquals,
  assertGreater,
  assertLess,
  assertThrows,
} from "./assert.ts";

await initBackend("cpu");

// 4 prompts × 8 responses; rewards evenly spaced over [0, 2] so that π_ref's expected reward
// (≈ 1.06) sits well below the optimum's (1.38 at β = 1, 1.98 at β = 0.1): a 5% reward
// tolerance (≈ 0.07–0.1) is far smaller than the gain to be made, and E[r] is far from 0.
const TASK = makeBanditTask({ seed: 0, rewardScale: 2 });
const REF = tabularStats(TASK, TASK.refLogProbs);
const BETAS = [0.1, 1];

/** Relative error |a/b − 1|. */
const rel = (a: number, b: number) => Math.abs(a / b - 1);

function assertNear(
  got: { reward: number; kl: number },
  want: { reward: number; kl: number },
  what: string,
): void {
  const msg = `${what}: reward ${got.reward} vs ${want.reward}, KL ${got.kl} vs ${want.kl}`;
  assertLess(rel(got.reward, want.reward), 0.05, msg);
  assertLess(rel(got.kl, want.kl), 0.1, msg);
}

Deno.test({
  name: "makeBanditTask() is seeded, normalised, with distinct evenly spaced rewards",
  fn() {
    const again = makeBanditTask({ seed: 0, rewardScale: 2 });
    assertEquals(again.refLogits, TASK.refLogits);
    assertEquals(again.rewards, TASK.rewards);
    const { P, R } = TASK;
    for (let x = 0; x < P; x++) {
      const row = Array.from(TASK.refLogProbs.subarray(x * R, (x + 1) * R));
      assertAlmostEquals(row.reduce((s, l) => s + Math.exp(l), 0), 1, 1e-12);
      const levels = Array.from(TASK.rewards.subarray(x * R, (x + 1) * R)).sort((a, b) => a - b);
      assertAllClose(levels, Array.from({ length: R }, (_, k) => 2 * k / (R - 1)), 1e-12);
    }
    assertGreater(REF.reward, 0.5);
    assertThrows(
      () => makeBanditTask({ responses: 1 }),
      ConfigError,
      "bandit.responses must be an integer >= 2, got 1",
    );
  },
});

Deno.test({
  name: "drawBanditPreferences() labels pairs by Bradley–Terry on the true reward",
  fn() {
    const pairs = 100_000;
    const data = drawBanditPreferences(TASK, { pairs, sampling: "uniform", seed: 5 });
    assertEquals(data.counts.reduce((a, b) => a + b), pairs);
    // Per unordered pair {a, b}: wins of a ~ Binomial(n, σ(r_a − r_b)). Σ z² over the
    // P·R(R−1)/2 = 112 pairs is χ²(112): mean 112, sd √224; allow 4 sd.
    const tally = new Map<string, { a: number; b: number; winsA: number; n: number }>();
    data.chosen.forEach((w, m) => {
      const l = data.rejected[m]!, c = data.counts[m]!;
      const a = Math.min(w, l), b = Math.max(w, l), key = `${a},${b}`;
      const t = tally.get(key) ?? { a, b, winsA: 0, n: 0 };
      t.n += c;
      if (w === a) t.winsA += c;
      tally.set(key, t);
    });
    const { P, R } = TASK;
    assertEquals(tally.size, P * R * (R - 1) / 2);
    let chi2 = 0;
    for (const { a, b, winsA, n } of tally.values()) {
      assertEquals(Math.floor(a / R), Math.floor(b / R)); // same prompt
      const p = 1 / (1 + Math.exp(-(TASK.rewards[a]! - TASK.rewards[b]!)));
      chi2 += (winsA - n * p) ** 2 / (n * p * (1 - p));
    }
    const dof = tally.size;
    assertLess(Math.abs(chi2 - dof), 4 * Math.sqrt(2 * dof), `χ² ${chi2} with ${dof} dof`);
  },
});

Deno.test({
  name: "EXACT CHECK trainBanditPpo() lands on π*_β ∝ π_ref·exp(r/β) (β = 0.1, 1)",
  fn() {
    for (const beta of BETAS) {
      const want = oracleStats(TASK, beta);
      const got = trainBanditPpo({
        task: TASK,
        beta,
        steps: 200,
        batch: 64,
        lr: 0.05,
        epochs: 4,
        clipRange: 0.2,
        seed: 1,
      });
      assertNear(got, want, `PPO β=${beta}`);
      assertGreater(got.reward, REF.reward + 0.25);
      assertEquals(got.history.at(-1)!.step, 200);
      assert("ppo/clipfrac" in got.history[0]! && "loss/policy" in got.history[0]!);
    }
  },
});

Deno.test({
  name: "EXACT CHECK trainBanditDpo() from uniform BT pairs lands on π*_β (β = 0.1, 1)",
  fn() {
    for (const beta of BETAS) {
      const want = oracleStats(TASK, beta);
      // 200k pairs over 4·28 unordered pairs: ~1800 comparisons per pair.
      const got = trainBanditDpo({
        task: TASK,
        beta,
        lossType: "dpo",
        pairs: 200_000,
        steps: 600,
        lr: 0.1,
        seed: 1,
      });
      assertNear(got, want, `DPO β=${beta}`);
      assertGreater(got.reward, REF.reward + 0.25);
    }
  },
});

Deno.test({
  name: "EXACT CHECK trainBanditDpo(ipo) lands on IPO's own optimum π_ref·exp(p(y ≻ μ)/β), not π*",
  fn() {
    for (const beta of BETAS) {
      const ipoLog = ipoOptimalLogPolicy(TASK, beta); // μ uniform, as the trainer samples
      const want = tabularStats(TASK, ipoLog);
      const got = trainBanditDpo({
        task: TASK,
        beta,
        lossType: "ipo",
        pairs: 200_000,
        steps: 600,
        lr: 0.1,
        seed: 1,
      });
      assertNear(got, want, `IPO β=${beta}`);
      // Per prompt, the trained policy is far closer (total variation) to π_IPO than π*_β is.
      const star = optimalLogPolicy(TASK, beta);
      for (let x = 0; x < TASK.P; x++) {
        const tv = (a: (i: number) => number, b: (i: number) => number) => {
          let d = 0;
          for (let i = x * TASK.R; i < (x + 1) * TASK.R; i++) d += 0.5 * Math.abs(a(i) - b(i));
          return d;
        };
        const toIpo = tv((i) => got.probs[i]!, (i) => Math.exp(ipoLog[i]!));
        const starToIpo = tv((i) => Math.exp(star[i]!), (i) => Math.exp(ipoLog[i]!));
        assertLess(
          toIpo,
          0.1 * starToIpo,
          `IPO β=${beta} prompt ${x}: TV ${toIpo} vs ${starToIpo}`,
        );
      }
      // … while π*_β is elsewhere: IPO's optimum gets clearly less reward.
      assertLess(want.reward, oracleStats(TASK, beta).reward - 0.2);
    }
  },
});

Deno.test({
  name: "trainBanditDpo() with label smoothing stays closer to π_ref than π*_β",
  fn() {
    const beta = 1;
    const want = oracleStats(TASK, beta);
    const got = trainBanditDpo({
      task: TASK,
      beta,
      labelSmoothing: 0.2,
      pairs: 50_000,
      steps: 300,
      lr: 0.1,
      seed: 2,
    });
    assertLess(got.kl, 0.5 * want.kl);
    assertGreater(got.reward, REF.reward);
  },
});

Deno.test({
  name: "trainBanditDpo() hinge and simpo change every parameter and lower their loss",
  fn() {
    for (const lossType of ["hinge", "simpo"] as const) {
      const got = trainBanditDpo({
        task: TASK,
        beta: 1,
        lossType,
        pairs: 20_000,
        steps: 40,
        lr: 0.05,
        seed: 3,
        logEvery: 1,
      });
      const first = got.history[0]!["loss/dpo"]!, last = got.history.at(-1)!["loss/dpo"]!;
      assertLess(last, first, `${lossType}: loss ${first} → ${last}`);
      got.logProbs.forEach((l, i) =>
        assert(Math.abs(l - TASK.refLogProbs[i]!) > 1e-4, `${lossType}: θ[${i}] unchanged`)
      );
      assertGreater(got.reward, REF.reward);
    }
  },
});

Deno.test({
  name: "bandit trainers leak no tensors and validate their configs",
  fn() {
    const before = tf.memory().numTensors;
    const rows: MetricRow[] = [];
    const out = trainBanditDpo({
      task: TASK,
      pairs: 1000,
      steps: 5,
      logEvery: 2,
      onRow: (r) => rows.push(r),
    });
    assertEquals(rows, out.history);
    assertEquals(rows.map((r) => r.step), [2, 4, 5]);
    trainBanditPpo({ task: TASK, steps: 3, batch: 8, logEvery: 2 });
    assertEquals(tf.memory().numTensors, before);
    assertThrows(
      () => trainBanditPpo({ task: TASK, batch: 1 }),
      ConfigError,
      "banditPpo.batch must be an integer >= 2, got 1",
    );
    assertThrows(
      () => trainBanditDpo({ task: TASK, sampling: "policy" as "ref" }),
      ConfigError,
      "banditDpo.sampling",
    );
  },
});
