import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import type { TokenPair } from "../lib/data/response_batch.ts";
import { thumbsLabels, unpairPreferences } from "../lib/data/unpaired_feedback.ts";
import { cacheReferenceLogProbs } from "../lib/train/dpo.ts";
import {
  cacheKtoReference,
  distinctExamples,
  ktoConfig,
  trainKto,
  unpairCachedPairs,
} from "../lib/train/kto.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { Rng } from "../lib/util/rng.ts";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertGreater,
  assertLess,
  assertNotEquals,
  assertThrows,
} from "./assert.ts";
import { changed, GOOD, policyAndRef, snapshot } from "./_online.ts";

await initBackend("cpu");

/** Pairs where the chosen response holds GOOD tokens and the rejected does not. */
function goodPairs(n: number, seed: number): TokenPair[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const other = () => 8 + rng.int(10);
    return {
      prompt: [1, 4 + rng.int(8)],
      chosen: [GOOD, other(), GOOD, 2],
      rejected: [other(), other(), other(), 2],
    };
  });
}

const SMALL = ktoConfig({ steps: 4, batchSize: 8, lr: 3e-3, beta: 0.5, logEvery: 2 });

Deno.test("unpairPreferences() makes chosen desirable and rejected undesirable, skipping ties", () => {
  const pairs = goodPairs(3, 1);
  const ex = unpairPreferences([...pairs, { ...pairs[0]!, tie: true }]);
  assertEquals(ex.length, 6);
  assertEquals(ex.map((e) => e.desirable), [true, false, true, false, true, false]);
  assertEquals(ex[2]!.completion, pairs[1]!.chosen);
  assertEquals(ex[3]!.completion, pairs[1]!.rejected);
});

Deno.test("thumbsLabels() says desirable with probability σ((r − r₀)/τ)", () => {
  const n = 20_000, p = 1 / (1 + Math.exp(-1)); // r − r₀ = τ
  const labels = thumbsLabels(
    new Float32Array(n).fill(0.6),
    { tau: 0.1, threshold: 0.5 },
    new Rng(3),
  );
  const rate = labels.filter((x) => x).length / n;
  // 4 binomial standard errors: fails by chance once in ~16 000 seeds.
  assertLess(Math.abs(rate - p), 4 * Math.sqrt((p * (1 - p)) / n), `rate ${rate} vs ${p}`);
  assertEquals(thumbsLabels([0.5, 0.5], { tau: 0.1, threshold: 0.5 }, new Rng(1)).length, 2);
  assertThrows(
    () => thumbsLabels([1], { tau: 0, threshold: 0 }, new Rng(0)),
    ConfigError,
    "tau must be a number > 0, got 0",
  );
});

Deno.test("unpairCachedPairs() carries DPO's cached reference log-probs; distinctExamples() keeps first occurrences", async () => {
  const { policy, ref } = policyAndRef();
  const pairs = goodPairs(4, 2);
  const cached = await cacheReferenceLogProbs(ref, pairs);
  const ex = unpairCachedPairs(cached);
  const direct = await cacheKtoReference(ref, unpairPreferences(pairs));
  assertEquals(ex.examples, direct.examples);
  assertEquals(Array.from(ex.refLogProbs), Array.from(direct.refLogProbs));
  const doubled = {
    examples: [...ex.examples, ...ex.examples],
    refLogProbs: Float32Array.from([...ex.refLogProbs, ...ex.refLogProbs]),
  };
  assertEquals(distinctExamples(doubled), ex);
  policy.dispose();
  ref.dispose();
});

Deno.test("trainKto() starts at the reference: z0 = 0 and every loss λ·σ(0) = ½", async () => {
  const { policy, ref } = policyAndRef();
  const res = await trainKto({
    policy,
    ref,
    train: unpairPreferences(goodPairs(16, 3)),
    config: { ...SMALL, steps: 1, logEvery: 1 },
    progress: false,
  });
  const row = res.rows.find((r) => "loss/kto" in r)!;
  assertAlmostEquals(row["loss/kto"]!, 0.5, 1e-6);
  assertEquals(row["kto/z0"], 0);
  assertAlmostEquals(row["rewards/margin"]!, 0, 1e-6);
  policy.dispose();
  ref.dispose();
});

Deno.test("trainKto() changes every parameter, logs finite rows and keeps the tensor count flat", async () => {
  const { policy, ref } = policyAndRef();
  const before = snapshot(policy);
  const train = await cacheKtoReference(ref, unpairPreferences(goodPairs(32, 4)));
  await trainKto({ policy, ref, train, config: SMALL, progress: false });
  // The embedding rows of tokens no example holds get no gradient; every tensor moves.
  assertEquals(changed(before, snapshot(policy)).length, before.size);
  const val = await cacheReferenceLogProbs(ref, goodPairs(8, 5));
  const tensors = tf.memory().numTensors;
  const res = await trainKto({
    policy,
    ref,
    train,
    val,
    config: { ...SMALL, desirableWeight: 1.3 },
    progress: false,
  });
  assertEquals(tf.memory().numTensors, tensors, "tensor count grew across KTO steps");
  for (const row of res.rows) {
    for (const [k, v] of Object.entries(row)) assert(Number.isFinite(v), `${k} = ${v}`);
  }
  assert(res.valAccuracy !== undefined);
  policy.dispose();
  ref.dispose();
});

Deno.test("trainKto() is deterministic with a seed and the seed matters", async () => {
  const once = async (seed: number) => {
    const { policy, ref } = policyAndRef();
    const res = await trainKto({
      policy,
      ref,
      train: unpairPreferences(goodPairs(32, 4)),
      config: { ...SMALL, seed },
      progress: false,
    });
    const params = snapshot(policy);
    policy.dispose();
    ref.dispose();
    return { rows: res.rows.map(({ "perf/tokens_per_s": _, ...r }) => r), params };
  };
  const a = await once(5), b = await once(5), c = await once(6);
  assertEquals(a.rows, b.rows);
  assertEquals(changed(a.params, b.params), []);
  assertNotEquals(changed(a.params, c.params), []);
});

Deno.test("trainKto() learns from unpaired labels to rank held-out pairs", async () => {
  const { policy, ref } = policyAndRef(5);
  const res = await trainKto({
    policy,
    ref,
    train: unpairPreferences(goodPairs(64, 4)),
    val: await cacheReferenceLogProbs(ref, goodPairs(32, 5)),
    config: { ...SMALL, steps: 30, batchSize: 16, logEvery: 5 },
    progress: false,
  });
  const rows = res.rows.filter((r) => "loss/kto" in r);
  assertGreater(res.valAccuracy!, 0.9);
  assertGreater(rows.at(-1)!["rewards/margin"]!, 0);
  assertLess(rows.at(-1)!["loss/kto"]!, 0.5);
  policy.dispose();
  ref.dispose();
});

Deno.test("ktoConfig() names the field and the value of a bad setting", () => {
  assertThrows(() => ktoConfig({ beta: 0 }), ConfigError, "kto.beta must be a number > 0, got 0");
  assertThrows(
    () => ktoConfig({ desirableWeight: -1 }),
    ConfigError,
    "kto.desirableWeight must be a number >= 0, got -1",
  );
});
