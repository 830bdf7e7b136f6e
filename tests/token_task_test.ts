import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import {
  makeTokenTask,
  nodeIndex,
  nodeTokens,
  sequenceName,
  tokenPolicyStats,
  tokenSequenceLogProbs,
} from "../lib/data/token_task.ts";
import { loadTokenTask, tokenTaskFromSpec, tokenTaskSpec } from "../lib/data/token_task_file.ts";
import { logSoftmaxRows } from "../lib/data/bandit.ts";
import {
  optimalSequenceLogProbs,
  softBellman,
  tokenOracleStats,
} from "../lib/eval/token_oracle.ts";
import {
  batchTensors,
  pickRows,
  sampleTokenBatch,
  TabularTokenPolicy,
  type TokenTrainResult,
} from "../lib/train/_token_policy.ts";
import { dpoLoss } from "../lib/losses/dpo.ts";
import { grpoLoss } from "../lib/losses/grpo.ts";
import { ktoLoss } from "../lib/losses/kto.ts";
import { ppoPolicyLoss } from "../lib/losses/ppo.ts";
import { rlooLoss } from "../lib/losses/rloo.ts";
import type { MetricRow } from "../lib/train/metrics.ts";
import { DR_GRPO, TOKEN_GRPO_DEFAULTS, trainTokenGrpo } from "../lib/train/token_grpo.ts";
import { trainTokenKto } from "../lib/train/token_kto.ts";
import { trainTokenOnlineDpo } from "../lib/train/token_online_dpo.ts";
import { trainTokenPpo } from "../lib/train/token_ppo.ts";
import { trainTokenRloo } from "../lib/train/token_rloo.ts";
import { ConfigError, FileFormatError } from "../lib/util/errors.ts";
import { grpoFixedPoint, ktoFixedPoint } from "../lib/eval/token_fixed_points.ts";
import { Rng } from "../lib/util/rng.ts";
import {
  assert,
  assertAllClose,
  assertAlmostEquals,
  assertEquals,
  assertGreater,
  assertLess,
  assertRejects,
  assertThrows,
} from "./assert.ts";

await initBackend("cpu");

// 3 contexts, V = 4, T = 3: 21 prefixes and 85 sequences (1 to 3 tokens) per context.
const TASK = makeTokenTask();
const REF = tokenPolicyStats(TASK, TASK.logRef);
const BETAS = [0.1, 0.5, 2];

/** A random tabular policy, log-probabilities [P, D, A]. */
function randomLogPolicy(seed: number, scale = 1.5): Float64Array {
  const rng = new Rng(seed);
  const logits = TASK.logRef.map((l) => l + scale * rng.normal());
  return logSoftmaxRows(logits, TASK.A);
}

/** Every sequence by depth-first generation: [tokens, log π(y)] with EOS where it ends early. */
function enumerateByDfs(logPolicy: Float64Array, x: number): Map<string, number> {
  const out = new Map<string, number>();
  const { V, T, D, A } = TASK;
  const walk = (node: number, tokens: number[], logp: number) => {
    if (tokens.length === T) {
      out.set(tokens.join(","), logp);
      return;
    }
    const row = (x * D + node) * A;
    out.set(tokens.join(",") + ",EOS", logp + logPolicy[row + V]!);
    for (let a = 0; a < V; a++) walk(node * V + 1 + a, [...tokens, a], logp + logPolicy[row + a]!);
  };
  walk(0, [], 0);
  return out;
}

Deno.test({
  name: "makeTokenTask() is seeded, with normalised π_ref rows and distinct evenly spaced rewards",
  fn() {
    assertEquals([TASK.P, TASK.V, TASK.T, TASK.A, TASK.D, TASK.N], [3, 4, 3, 5, 21, 85]);
    const again = makeTokenTask();
    assertEquals(again.refLogits, TASK.refLogits);
    assertEquals(again.rewards, TASK.rewards);
    for (let row = 0; row < TASK.P * TASK.D; row++) {
      let s = 0;
      for (let a = 0; a < TASK.A; a++) s += Math.exp(TASK.logRef[row * TASK.A + a]!);
      assertAlmostEquals(s, 1, 1e-12);
    }
    for (let x = 0; x < TASK.P; x++) {
      const levels = Array.from(TASK.rewards.subarray(x * 85, (x + 1) * 85)).sort((a, b) => a - b);
      assertAllClose(levels, levels.map((_, k) => (2 * k) / 84), 1e-12);
    }
    assertEquals([sequenceName(TASK, 0), sequenceName(TASK, 6), sequenceName(TASK, 84)], [
      "EOS",
      "a b EOS",
      "d d d",
    ]);
    assertEquals(Math.min(...TASK.seqLength), 1);
    assertEquals(Math.max(...TASK.seqLength), 3);
    assertEquals(nodeIndex(nodeTokens(57, 4), 4), 57);
    assertThrows(
      () => makeTokenTask({ vocab: 40, maxLength: 4 }),
      ConfigError,
      "gives 2625641 sequences per context",
    );
    assertThrows(
      () => makeTokenTask({ maxLength: 0 }),
      ConfigError,
      "tokenTask.maxLength must be an integer >= 1, got 0",
    );
  },
});

Deno.test({
  name: "tokenSequenceLogProbs() lists every sequence once and agrees with a depth-first walk",
  fn() {
    const logPolicy = randomLogPolicy(1);
    const seq = tokenSequenceLogProbs(TASK, logPolicy);
    for (let x = 0; x < TASK.P; x++) {
      const dfs = enumerateByDfs(logPolicy, x);
      assertEquals(dfs.size, TASK.N);
      let total = 0;
      for (let n = 0; n < TASK.N; n++) {
        const key = nodeTokens(n, TASK.V).join(",") + (n < TASK.D ? ",EOS" : "");
        assertAlmostEquals(seq[x * TASK.N + n]!, dfs.get(key)!, 1e-12, key);
        total += Math.exp(seq[x * TASK.N + n]!);
      }
      assertAlmostEquals(total, 1, 1e-12);
    }
  },
});

Deno.test({
  name: "tokenPolicyStats() KL over sequences equals the expected sum of per-prefix KLs",
  fn() {
    const logPolicy = randomLogPolicy(2);
    const stats = tokenPolicyStats(TASK, logPolicy);
    // Chain rule: KL(π‖π_ref) = Σ_s P_π(reach s)·KL(π(·|s)‖π_ref(·|s)).
    const { P, V, D, A } = TASK;
    let kl = 0;
    for (let x = 0; x < P; x++) {
      const reach = new Float64Array(D);
      reach[0] = 1;
      for (let n = 0; n < D; n++) {
        const row = (x * D + n) * A;
        let k = 0;
        for (let a = 0; a < A; a++) {
          k += Math.exp(logPolicy[row + a]!) * (logPolicy[row + a]! - TASK.logRef[row + a]!);
        }
        kl += reach[n]! * k / P;
        for (let a = 0; a < V; a++) {
          const child = n * V + 1 + a;
          if (child < D) reach[child] = reach[n]! * Math.exp(logPolicy[row + a]!);
        }
      }
    }
    assertAlmostEquals(stats.kl, kl, 1e-12);
    assertEquals(REF.kl, 0);
    assertGreater(REF.length, 1);
    assertLess(REF.length, 3);
  },
});

Deno.test({
  name: "softBellman() per-prefix π*_β multiplies out to π_ref·exp(r/β)/Z over sequences",
  fn() {
    for (const beta of BETAS) {
      const { logPolicy, values } = softBellman(TASK, beta);
      const fromTokens = tokenSequenceLogProbs(TASK, logPolicy);
      const direct = optimalSequenceLogProbs(TASK, beta);
      assertAllClose(fromTokens, direct, 1e-12, `β=${beta}`);
      // V(root) = β·log Z(x), Z = Σ_y π_ref(y)·exp(r(y)/β).
      const refSeq = tokenSequenceLogProbs(TASK, TASK.logRef);
      for (let x = 0; x < TASK.P; x++) {
        let z = 0;
        for (let n = 0; n < TASK.N; n++) {
          z += Math.exp(refSeq[x * TASK.N + n]! + TASK.rewards[x * TASK.N + n]! / beta);
        }
        assertAlmostEquals(values[x * TASK.D]!, beta * Math.log(z), 1e-10);
      }
    }
  },
});

Deno.test({
  name:
    "tokenOracleStats(): π*_β beats every perturbed policy on E[r] − β·KL, and smaller β moves further",
  fn() {
    const rows = BETAS.map((beta) => tokenOracleStats(TASK, beta));
    for (let i = 0; i < BETAS.length; i++) {
      const beta = BETAS[i]!, best = rows[i]!.reward - beta * rows[i]!.kl;
      const star = softBellman(TASK, beta).logPolicy;
      for (let seed = 0; seed < 5; seed++) {
        const rng = new Rng(100 + seed);
        const other = tokenPolicyStats(
          TASK,
          logSoftmaxRows(star.map((l) => l + 0.3 * rng.normal()), TASK.A),
        );
        assertLess(other.reward - beta * other.kl, best, `β=${beta} seed ${seed}`);
      }
      assertGreater(rows[i]!.reward, REF.reward);
    }
    assert(rows[0]!.kl > rows[1]!.kl && rows[1]!.kl > rows[2]!.kl);
    assert(rows[0]!.reward > rows[1]!.reward && rows[1]!.reward > rows[2]!.reward);
  },
});

// ---------------------------------------------------------------------------------------
// User-defined tasks.

const SMALL = {
  tokens: ["a", "b"],
  maxLength: 2,
  contexts: [{
    name: "hello",
    refProbs: { "": [0.5, 0.3, 0.2], "a": [0.1, 0.1, 0.8], "b": [0.3, 0.3, 0.4] },
    rewards: { "": 0, "a": 1, "b": 0.5, "a a": 2, "a b": 0, "b a": 1, "b b": 0.2 },
  }],
};

Deno.test({
  name: "tokenTaskFromSpec() reads keyed probabilities and rewards into the tree's order",
  fn() {
    const task = tokenTaskFromSpec(SMALL);
    assertEquals([task.P, task.V, task.T, task.D, task.N], [1, 2, 2, 3, 7]);
    assertEquals(task.contexts, ["hello"]);
    assertAllClose(Array.from(task.rewards), [0, 1, 0.5, 2, 0, 1, 0.2], 0);
    assertAllClose(Array.from(task.logRef.subarray(3, 6)).map(Math.exp), [0.1, 0.1, 0.8], 1e-12);
    // π_ref("a b") = 0.5 · 0.1 (no EOS: full length), π_ref("b EOS") = 0.3 · 0.4.
    const seq = tokenSequenceLogProbs(task, task.logRef);
    assertAlmostEquals(Math.exp(seq[4]!), 0.05, 1e-12);
    assertAlmostEquals(Math.exp(seq[2]!), 0.12, 1e-12);
    // Arrays in shortlex order give the same task; a spec written back reads back equal.
    const arrays = tokenTaskFromSpec({
      ...SMALL,
      contexts: [{
        refProbs: [[0.5, 0.3, 0.2], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]],
        rewards: [0, 1, 0.5, 2, 0, 1, 0.2],
      }],
    });
    assertAllClose(arrays.logRef, task.logRef, 0);
    const round = tokenTaskFromSpec(JSON.parse(JSON.stringify(tokenTaskSpec(TASK))));
    assertAllClose(round.logRef, TASK.logRef, 1e-12);
    assertEquals(round.rewards, TASK.rewards);
    assertEquals(round.contexts, TASK.contexts);
  },
});

Deno.test({
  name: "tokenTaskFromSpec() and loadTokenTask() reject bad specs in one line naming the place",
  async fn() {
    const ctx = SMALL.contexts[0]!;
    const bad = (context: Record<string, unknown>, top: Record<string, unknown> = {}) => ({
      ...SMALL,
      ...top,
      contexts: [{ ...ctx, ...context }],
    });
    const cases: [unknown, string][] = [
      [
        bad({ refProbs: { ...ctx.refProbs, "a": [0.1, 0.1, 0.7] } }),
        'contexts[0].refProbs["a"] sums to 0.9, must sum to 1',
      ],
      [
        bad({ refProbs: { ...ctx.refProbs, "b": [0.5, 0.5] } }),
        'contexts[0].refProbs["b"] must be an array of 3 numbers (2 tokens, then EOS), got [0.5,0.5]',
      ],
      [
        bad({ refProbs: { ...ctx.refProbs, "": [0.5, 0.5, 0] } }),
        'contexts[0].refProbs[""][2] must be > 0',
      ],
      [
        bad({ rewards: { ...ctx.rewards, "a b": NaN } }),
        'contexts[0].rewards["a b"] must be a finite number, got NaN',
      ],
      [
        bad({ rewards: { ...ctx.rewards, "b b": null } }),
        'contexts[0].rewards["b b"] must be a finite number, got null',
      ],
      [
        bad({ rewards: { "": 0, "a": 1, "b": 0.5, "a a": 2, "a b": 0, "b a": 1 } }),
        'contexts[0].rewards is missing the sequence "b b"',
      ],
      [
        bad({ rewards: { ...ctx.rewards, "a c": 1 } }),
        'contexts[0].rewards["a c"] has unknown token "c" (tokens: a, b)',
      ],
      [
        bad({ rewards: { ...ctx.rewards, "a a b": 1 } }),
        'contexts[0].rewards["a a b"] has 3 tokens; a sequence has at most 2',
      ],
      [
        bad({ rewards: { ...ctx.rewards, " a  b": 1 } }),
        'contexts[0].rewards[" a  b"] names the same sequence as contexts[0].rewards["a b"]',
      ],
      [
        bad({ rewards: [0, 1, 2] }),
        "contexts[0].rewards has 3 entries, expected one per sequence: 7",
      ],
      [
        bad({ refProbs: { ...ctx.refProbs, "a a": [0.2, 0.2, 0.6] } }),
        'contexts[0].refProbs["a a"] has 2 tokens; a prefix has at most 1',
      ],
      [
        bad({ refLogits: [[0, 0, 0], [0, 0, 0], [0, 0, 0]] }),
        "contexts[0] must give exactly one of refProbs and refLogits",
      ],
      [bad({}, { maxLength: 1.5 }), "maxLength must be an integer >= 1, got 1.5"],
      [bad({}, { tokens: ["a", "a"] }), 'tokens[1] repeats "a"'],
      [
        bad({}, { tokens: ["a", "EOS"] }),
        'tokens[1] must be a non-empty name without spaces other than "EOS"',
      ],
      [{ ...SMALL, contexts: [] }, "contexts must be a non-empty array, got []"],
      [bad({ temperature: 1 }), "contexts[0].temperature is unknown"],
    ];
    for (const [spec, message] of cases) {
      const err = assertThrows(() => tokenTaskFromSpec(spec), ConfigError, message);
      assert(!err.message.includes("\n"), err.message);
    }
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/task.json`;
      await Deno.writeTextFile(path, JSON.stringify(SMALL));
      assertEquals((await loadTokenTask(path)).rewards, tokenTaskFromSpec(SMALL).rewards);
      await Deno.writeTextFile(path, JSON.stringify(bad({ rewards: [0, 1] })));
      await assertRejects(
        () => loadTokenTask(path),
        FileFormatError,
        `${path}: contexts[0].rewards has 2 entries`,
      );
      await Deno.writeTextFile(path, "{ not json");
      await assertRejects(() => loadTokenTask(path), FileFormatError, `${path}: bad JSON`);
      await assertRejects(
        () => loadTokenTask(`${dir}/none.json`),
        FileFormatError,
        "file not found",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// ---------------------------------------------------------------------------------------
// Trainers against π*_β. Every method must land within 2% of π*_β's expected reward and
// 5% of its KL at β = 0.1, 0.5 and 2; π_ref earns 1.04 and π*_β 1.90, 1.55, 1.20, so 2%
// (≤ 0.04) is far below the gain to be made.

/** Relative error |a/b − 1|. */
const rel = (a: number, b: number) => Math.abs(a / b - 1);

function assertNear(
  got: { reward: number; kl: number },
  want: { reward: number; kl: number },
  what: string,
  tol = { reward: 0.02, kl: 0.05 },
): void {
  const msg = `${what}: reward ${got.reward} vs ${want.reward}, KL ${got.kl} vs ${want.kl}`;
  assertLess(rel(got.reward, want.reward), tol.reward, msg);
  assertLess(rel(got.kl, want.kl), tol.kl, msg);
}

function checkAllBetas(train: (beta: number) => TokenTrainResult, what: string): void {
  for (const beta of BETAS) {
    const want = tokenOracleStats(TASK, beta);
    const got = train(beta);
    assertNear(got, want, `${what} β=${beta}`);
    assertGreater(got.reward - REF.reward, 5 * 0.02 * want.reward, `${what} β=${beta} moved`);
  }
}

Deno.test({
  name:
    "EXACT CHECK trainTokenPpo() (k1 in the per-token reward, GAE, tabular critic) lands on π*_β",
  fn() {
    checkAllBetas((beta) => trainTokenPpo({ task: TASK, beta, seed: 1 }), "PPO");
  },
});

Deno.test({
  name:
    "EXACT CHECK trainTokenGrpo() with k1 in the reward lands on π*_β (std division and per-sequence mean kept)",
  fn() {
    checkAllBetas(
      (beta) => trainTokenGrpo({ task: TASK, beta, klPlacement: "reward", seed: 1 }),
      "GRPO(k1 in reward)",
    );
  },
});

Deno.test({
  name: "EXACT CHECK trainTokenRloo() lands on π*_β",
  fn() {
    checkAllBetas((beta) => trainTokenRloo({ task: TASK, beta, seed: 1 }), "RLOO");
  },
});

Deno.test({
  name:
    "EXACT CHECK trainTokenOnlineDpo() on Bradley–Terry labels of its own samples lands on π*_β",
  fn() {
    checkAllBetas((beta) => trainTokenOnlineDpo({ task: TASK, beta, seed: 1 }), "online DPO");
  },
});

// ---------------------------------------------------------------------------------------
// Where a method does not optimise E[r] − β·KL, it lands where its expected update
// vanishes (lib/eval/token_fixed_points.ts), and the gap to π*_β has the predicted sign.
// The report of the branch has the multi-seed numbers; these pin a lower bound on each gap.

Deno.test({
  name:
    "GAP trainTokenGrpo() with k3 in the loss (Dr. GRPO) lands on its predicted fixed point, below π*_β",
  fn() {
    const beta = 0.5;
    const star = tokenOracleStats(TASK, beta);
    const predicted = grpoFixedPoint(TASK, {
      beta,
      groupSize: TOKEN_GRPO_DEFAULTS.groupSize,
      klPlacement: "loss",
      klEstimator: "k3",
      aggregation: "dr_grpo",
      scaleRewards: false,
    });
    const got = trainTokenGrpo({ task: TASK, beta, ...DR_GRPO, seed: 1 });
    assertNear(got, predicted, "Dr. GRPO vs its fixed point");
    // Predicted: 5.4% less reward and 23% less KL than π*_β.
    assertLess(got.reward, star.reward * (1 - 0.03), `reward ${got.reward} vs π* ${star.reward}`);
    assertLess(got.kl, star.kl * (1 - 0.12), `KL ${got.kl} vs π* ${star.kl}`);
  },
});

Deno.test({
  name:
    "GAP trainTokenGrpo() as in the paper (std division, per-sequence mean, k3 in the loss) overshoots π*_β",
  fn() {
    const beta = 0.5;
    const star = tokenOracleStats(TASK, beta);
    const got = trainTokenGrpo({ task: TASK, beta, seed: 1 });
    // Predicted at G → ∞: 9% more reward and 2.5× the KL; dividing by the group std scales
    // the reward term up by 1/std while the KL term keeps its weight.
    assertGreater(got.reward, star.reward * 1.04, `reward ${got.reward} vs π* ${star.reward}`);
    assertGreater(got.kl, star.kl * 2, `KL ${got.kl} vs π* ${star.kl}`);
  },
});

Deno.test({
  name: "GAP trainTokenKto() on π_ref's samples lands on KTO's fixed point, far from π*_β",
  fn() {
    const beta = 2;
    const star = tokenOracleStats(TASK, beta);
    const predicted = ktoFixedPoint(TASK, { beta, sampling: "ref" });
    const got = trainTokenKto({ task: TASK, beta, sampling: "ref", pairs: 256, seed: 1 });
    assertNear(got, predicted, "KTO vs its fixed point");
    // Predicted: 34% more reward than π*_β at 19× its KL (KTO's β barely moves its optimum).
    assertGreater(got.kl, 10 * star.kl, `KL ${got.kl} vs π* ${star.kl}`);
    assertGreater(got.reward, star.reward * 1.2, `reward ${got.reward} vs π* ${star.reward}`);
  },
});

// ---------------------------------------------------------------------------------------
// Hygiene: determinism, tensors, rows, configs, backends.

type Short = (extra: Record<string, unknown>) => TokenTrainResult;
const SHORT: [string, Short][] = [
  ["ppo", (o) => trainTokenPpo({ task: TASK, steps: 3, batch: 8, logEvery: 2, ...o })],
  ["grpo", (o) => trainTokenGrpo({ task: TASK, steps: 3, groups: 2, logEvery: 2, ...o })],
  ["rloo", (o) => trainTokenRloo({ task: TASK, steps: 3, groups: 2, logEvery: 2, ...o })],
  ["dpo", (o) => trainTokenOnlineDpo({ task: TASK, steps: 3, pairs: 16, logEvery: 2, ...o })],
  [
    "ipo",
    (o) =>
      trainTokenOnlineDpo({ task: TASK, steps: 3, pairs: 16, logEvery: 2, lossType: "ipo", ...o }),
  ],
  ["kto", (o) => trainTokenKto({ task: TASK, steps: 3, pairs: 16, logEvery: 2, ...o })],
];

Deno.test({
  name: "token trainers are deterministic, change the policy, emit rows and leak no tensors",
  fn() {
    const before = tf.memory().numTensors;
    for (const [name, run] of SHORT) {
      const rows: MetricRow[] = [];
      const a = run({ seed: 3, beta: 0.5, onRow: (r: MetricRow) => rows.push(r) });
      const b = run({ seed: 3, beta: 0.5 });
      const c = run({ seed: 4, beta: 0.5 });
      assertEquals(a.logPolicy, b.logPolicy, `${name}: same seed, same numbers`);
      assert(a.logPolicy.some((l, i) => l !== c.logPolicy[i]), `${name}: the seed matters`);
      assert(a.logPolicy.some((l, i) => Math.abs(l - TASK.logRef[i]!) > 1e-3), `${name}: trained`);
      assertEquals(rows, a.history);
      assertEquals(rows.map((r) => r.step), [2, 3], name);
      for (const row of rows) {
        for (const [k, v] of Object.entries(row)) {
          assert(Number.isFinite(v), `${name}: ${k} = ${v}`);
        }
        assert("reward/gold" in row && "kl/ref" in row, name);
      }
    }
    assertEquals(tf.memory().numTensors, before);
  },
});

Deno.test({
  name: "token trainers name the field and the value of a bad setting",
  fn() {
    assertThrows(
      () => trainTokenGrpo({ task: TASK, groupSize: 1 }),
      ConfigError,
      "tokenGrpo.groupSize must be an integer >= 2, got 1",
    );
    assertThrows(
      () => trainTokenGrpo({ task: TASK, klPlacement: "advantage" as "loss" }),
      ConfigError,
      'tokenGrpo.klPlacement must be one of "loss", "reward", got "advantage"',
    );
    assertThrows(
      () => trainTokenPpo({ task: TASK, beta: 0 }),
      ConfigError,
      "tokenPpo.beta must be a number > 0, got 0",
    );
    assertThrows(
      () => trainTokenRloo({ task: TASK, k: 1 }),
      ConfigError,
      "tokenRloo.k must be an integer >= 2",
    );
    assertThrows(
      () => trainTokenOnlineDpo({ task: TASK, lossType: "kto" as "dpo" }),
      ConfigError,
      "tokenOnlineDpo.lossType must be one of",
    );
    assertThrows(
      () => trainTokenKto({ task: TASK, sampling: "uniform" as "ref" }),
      ConfigError,
      "tokenKto.sampling",
    );
    // β = 0 is GRPO without a KL term (TRL's default); it needs no reference.
    const free = trainTokenGrpo({ task: TASK, beta: 0, steps: 2, groups: 1 });
    assert(Number.isFinite(free.reward));
  },
});

/** Gradients of every loss the trainers use, on one sampled batch, w.r.t. the tabular θ. */
function lossGradients(): Record<string, Float32Array> {
  const policy = new TabularTokenPolicy(TASK);
  const batch = sampleTokenBatch(TASK, policy.logPolicy(), 8, new Rng(9));
  const t = batchTensors(batch);
  const B = batch.B;
  const adv = tf.tensor1d(batch.score.map((r) => r - 1)); // [B]
  const advTokens = tf.tidy(() => tf.mul(tf.expandDims(adv, 1), t.mask)); // [B, T]
  const half = tf.tensor1d(Array.from({ length: B / 2 }, (_, i) => i), "int32");
  const otherHalf = tf.tensor1d(Array.from({ length: B / 2 }, (_, i) => B / 2 + i), "int32");
  const desirable = tf.tensor1d(Array.from({ length: B / 2 }, (_, i) => i % 2));
  const refSeq = tf.tidy(() => tf.sum(tf.mul(t.refLogProbs, t.mask), 1)) as tf.Tensor1D;
  const losses: Record<string, () => tf.Scalar> = {
    ppo: () =>
      ppoPolicyLoss({
        logProbs: policy.tokenLogProbs(t),
        oldLogProbs: t.oldLogProbs,
        advantages: advTokens,
        mask: t.mask,
        clipRange: 0.2,
      }).pgLoss,
    grpo: () =>
      grpoLoss({
        logProbs: policy.tokenLogProbs(t),
        oldLogProbs: t.oldLogProbs,
        refLogProbs: t.refLogProbs,
        advantages: adv,
        mask: t.mask,
        beta: 0.1,
      }).loss,
    rloo: () => rlooLoss({ logProbs: policy.tokenLogProbs(t), advantages: adv, mask: t.mask }).loss,
    dpo: () => {
      const seq = policy.sequenceLogProbs(t);
      return dpoLoss({
        policyChosen: pickRows(seq, half),
        policyRejected: pickRows(seq, otherHalf),
        refChosen: tf.gather(refSeq, half),
        refRejected: tf.gather(refSeq, otherHalf),
        beta: 0.5,
      }).loss;
    },
    kto: () => {
      const seq = policy.sequenceLogProbs(t);
      return ktoLoss({
        policyLogProbs: pickRows(seq, half),
        refLogProbs: tf.gather(refSeq, half),
        desirable,
        klPolicyLogProbs: pickRows(seq, otherHalf),
        klRefLogProbs: tf.gather(refSeq, otherHalf),
        beta: 0.5,
      }).loss;
    },
  };
  const out: Record<string, Float32Array> = {};
  for (const [name, f] of Object.entries(losses)) {
    const { value, grads } = tf.variableGrads(f, [policy.theta]);
    out[name] = grads[policy.theta.name]!.dataSync() as Float32Array;
    tf.dispose([value, ...Object.values(grads)]);
  }
  tf.dispose([adv, advTokens, half, otherHalf, desirable, refSeq]);
  t.dispose();
  policy.dispose();
  return out;
}

Deno.test({
  name:
    "every token-level loss has the same gradient on wasm as on cpu (no tf.gather gradient needed)",
  async fn() {
    const onCpu = lossGradients();
    await initBackend("wasm");
    try {
      const onWasm = lossGradients();
      for (const [name, g] of Object.entries(onCpu)) {
        assert(g.some((v) => v !== 0), `${name}: a gradient`);
        assertAllClose(onWasm[name]!, g, 1e-6, name);
      }
      // And every trainer runs there (Adam turns float32 rounding in near-zero gradient
      // components into different steps, so parameters are not compared after training).
      for (const [name, run] of SHORT) {
        const got = run({ seed: 5, beta: 0.5 });
        assert(Number.isFinite(got.reward) && Number.isFinite(got.kl), name);
      }
    } finally {
      await initBackend("cpu");
    }
  },
});
