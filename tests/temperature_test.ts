/**
 * Rollouts sampled at temperature T are draws from the tempered policy
 * π_T(y_t) = softmax(logits/T)[y_t]; every log-probability that stands for the sampling
 * distribution (sampler, log π_old, log π_θ in the PPO ratio, log π_ref in the KL, the
 * evaluation's KL and entropy) must be read at that temperature.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { CausalLM, gatherLogProbs } from "../lib/models/causal_lm.ts";
import { ScalarModel } from "../lib/models/scalar_head.ts";
import { responseBatch } from "../lib/data/response_batch.ts";
import { entropyFromLogits } from "../lib/losses/ppo.ts";
import { collectRollout, type RewardSource } from "../lib/train/rollout.ts";
import { ppoConfig } from "../lib/train/ppo_config.ts";
import { type PpoSample, trainPpo } from "../lib/train/ppo.ts";
import { evaluatePolicy } from "../lib/eval/policy_eval.ts";
import { Rng } from "../lib/util/rng.ts";
import { assertAllClose, assertAlmostEquals, assertEquals } from "./assert.ts";

await initBackend("wasm");

const tiny = { vocabSize: 20, dModel: 16, nLayers: 1, nHeads: 2, context: 12, dropout: 0 };
const T = 2.5;
const zero: RewardSource = (p) => Promise.resolve(new Float32Array(p.length));

/** log π_T of each response token of each row (teacher forcing), row by row. */
async function temperedLogProbs(
  model: CausalLM,
  prompts: readonly number[][],
  responses: readonly number[][],
  temperature: number,
): Promise<number[][]> {
  const out: number[][] = [];
  for (let r = 0; r < prompts.length; r++) {
    const seq = [...prompts[r]!, ...responses[r]!];
    const lp = tf.tidy(() => {
      const ids = tf.tensor2d([seq.slice(0, -1)], undefined, "int32");
      const logits = model.logits(ids).div(temperature) as tf.Tensor3D;
      return gatherLogProbs(logits, tf.tensor2d([seq.slice(1)], undefined, "int32"));
    });
    out.push((await lp.array())[0]!.slice(prompts[r]!.length - 1));
    lp.dispose();
  }
  return out;
}

/** Masked mean entropy of softmax(logits/T) over the response positions of the rows. */
async function temperedEntropy(
  model: CausalLM,
  prompts: readonly number[][],
  responses: readonly number[][],
  temperature: number,
): Promise<number> {
  const batch = responseBatch(prompts, responses, model.config.context);
  const h = tf.tidy(() => {
    const tokens = tf.tensor2d(batch.tokens, [batch.batch, batch.length + 1], "int32");
    const inputs = tokens.slice([0, 0], [batch.batch, batch.length]) as tf.Tensor2D;
    const mask = tf.tensor2d(batch.mask, [batch.batch, batch.length]);
    return entropyFromLogits(model.logits(inputs).div(temperature), mask);
  });
  const value = (await h.data())[0]!;
  h.dispose();
  return value;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

Deno.test("sample() logProbs at temperature T are log softmax(logits/T) of the drawn tokens", async () => {
  const lm = CausalLM.create(tiny, 6);
  const prompts = [[1, 5, 6], [1, 9]];
  const res = await lm.sample(prompts, { maxNewTokens: 5, temperature: T }, new Rng(7));
  const want = await temperedLogProbs(lm, prompts, res.tokens, T);
  for (let r = 0; r < prompts.length; r++) assertAllClose(res.logProbs[r]!, want[r]!, 1e-4);
  lm.dispose();
});

Deno.test("collectRollout() reads log π_old and log π_ref at the sampling temperature", async () => {
  const policy = CausalLM.create(tiny, 1);
  const ref = CausalLM.create(tiny, 2);
  const value = ScalarModel.fromLM(policy, 3);
  const prompts = [[1, 4], [1, 5, 6], [1, 7]];
  const ro = await collectRollout({
    policy,
    ref,
    value,
    prompts,
    maxNewTokens: 4,
    temperature: T,
    klEstimator: "k1",
    reward: zero,
    rng: new Rng(4),
  });
  const logp = await temperedLogProbs(policy, prompts, ro.responses, T);
  const logq = await temperedLogProbs(ref, prompts, ro.responses, T);
  const l = ro.batch.length;
  for (let r = 0; r < prompts.length; r++) {
    const start = r * l + prompts[r]!.length - 1;
    const n = ro.responses[r]!.length;
    assertAllClose(Array.from(ro.logProbs.subarray(start, start + n)), logp[r]!, 1e-4);
    assertAllClose(Array.from(ro.refLogProbs.subarray(start, start + n)), logq[r]!, 1e-4);
    const k1 = logp[r]!.map((x, t) => x - logq[r]![t]!);
    assertAllClose(Array.from(ro.klPerToken.subarray(start, start + n)), k1, 1e-4);
  }
  for (const m of [policy, ref, value]) m.dispose();
});

Deno.test("trainPpo() at temperature T logs the tempered policy's entropy and KL to the tempered reference", async () => {
  const policy = CausalLM.create(tiny, 1);
  const ref = CausalLM.create(tiny, 2);
  const value = ScalarModel.fromLM(policy, 3);
  const before = policy.clone(false);
  const samples: PpoSample[] = [];
  const tensors = tf.memory().numTensors;
  // One iteration, one minibatch holding the whole rollout of 4 rows (all of them in
  // onSamples): its entropy and the row's kl/ref are read before any update.
  const rows = await trainPpo({
    policy,
    ref,
    value,
    reward: zero,
    prompts: [[1, 4], [1, 5, 6], [1, 7], [1, 8]],
    config: ppoConfig({
      iterations: 1,
      rolloutBatch: 4,
      minibatchSize: 4,
      epochs: 1,
      maxNewTokens: 4,
      temperature: T,
      sampleEvery: 1,
    }),
    onSamples: (s) => samples.push(...s),
    progress: false,
  });
  assertEquals(tf.memory().numTensors, tensors, "tempered PPO leaks no tensors");
  assertEquals(samples.length, 4);
  const p = samples.map((s) => s.prompt), y = samples.map((s) => s.response);
  const logp = await temperedLogProbs(before, p, y, T);
  const logq = await temperedLogProbs(ref, p, y, T);
  const kl = sum(logp.map((row, r) => sum(row) - sum(logq[r]!))) / 4;
  assertAlmostEquals(rows[0]!["kl/ref"]!, kl, 1e-4);
  assertAlmostEquals(rows[0]!["policy/entropy"]!, await temperedEntropy(before, p, y, T), 1e-4);
  // The first minibatch's ratio π_θ/π_old is 1: both are read at the same temperature.
  assertAlmostEquals(rows[0]!["ppo/approx_kl"]!, 0, 1e-6);
  for (const m of [policy, ref, value, before]) m.dispose();
});

Deno.test("evaluatePolicy() measures KL and entropy of the tempered policy it samples", async () => {
  const policy = CausalLM.create(tiny, 1);
  const ref = CausalLM.create(tiny, 2);
  const prompts = [[1, 4], [1, 5, 6], [1, 7]];
  const ev = await evaluatePolicy({
    policy,
    ref,
    prompts,
    maxNewTokens: 4,
    gold: zero,
    seed: 3,
    temperature: T,
  });
  const y = ev.samples.map((s) => s.response);
  const logp = await temperedLogProbs(policy, prompts, y, T);
  const logq = await temperedLogProbs(ref, prompts, y, T);
  const kl = sum(logp.map((row, r) => sum(row) - sum(logq[r]!))) / prompts.length;
  const nll = -sum(logp.map(sum)) / sum(y.map((r) => r.length));
  assertAlmostEquals(ev.metrics["kl/ref"]!, kl, 1e-4);
  assertAlmostEquals(ev.metrics["policy/entropy"]!, nll, 1e-4);
  policy.dispose();
  ref.dispose();
});
