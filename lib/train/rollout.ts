/**
 * PPO rollouts: sample completions of a batch of prompts from the current policy, then
 * read, for every response token, log π_old, log π_ref, the value estimate and the
 * per-token KL estimate, and score each completion at its last real token (the EOS or the
 * last generated token, never padding). Everything after EOS is masked out.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor2D } from "../util/tensor_types.ts";
import { type CausalLM, gatherLogProbs } from "../models/causal_lm.ts";
import type { ScalarModel } from "../models/scalar_head.ts";
import { type ResponseBatch, responseBatch } from "../data/response_batch.ts";
import { EOS_ID } from "../data/special_tokens.ts";
import { fullKl, type KlEstimator, klPerTokenArray } from "../losses/kl.ts";
import { rewardScoresOf, temperedLogits } from "./response_log_probs.ts";
import type { Rng } from "../util/rng.ts";
import { ConfigError, show } from "../util/errors.ts";

/**
 * Scores completions: the reward model, or a gold reward on decoded text ("PPO-GT").
 * Returns one number per row.
 */
export type RewardSource = (
  prompts: readonly (readonly number[])[],
  responses: readonly (readonly number[])[],
  batch: ResponseBatch,
) => Promise<Float32Array>;

/** Options of {@link rewardModelSource}. */
export interface RewardModelSourceOptions {
  /**
   * Where r_φ reads a completion that stopped at the length limit without EOS:
   * - "as_is" (default): at its last token, the row's own last real token. This is how
   *   `tokenPairs` (lib/data/preference_pairs.ts) encodes truncated preference completions
   *   (no EOS), so training and reading agree;
   * - "append_eos": at an EOS appended to it, for a reward model trained on pairs where
   *   every completion ended with EOS (preference tables without finished columns).
   *   The row then needs room for one more token in the model's context.
   */
  truncated?: "as_is" | "append_eos";
}

/**
 * A reward source reading a reward model the way it was trained (see
 * {@link RewardModelSourceOptions}): a finished completion at its EOS, a truncated one at
 * its last token (default) or at an appended EOS. The reward still lands on the row's last
 * real token in PPO; only where r_φ reads can move. The gold reward scores decoded text,
 * which has no EOS either way.
 *
 * Why it matters: before the preference table recorded which completions finished, every
 * stored completion was re-encoded with a final EOS, so r_φ only learned to read at EOS;
 * read at a truncated row's last word it was off its training distribution (on the
 * canonical task, where ~60% of SFT samples hit the limit, Spearman(RM, gold) was 0.54
 * read there and 0.71 at an appended EOS). Training on truncated completions as they are
 * removes the mismatch at its source, and with it the EOS the sampler could never emit.
 * @throws ConfigError for an unknown `truncated`; at scoring time, for "append_eos", when a
 *   row has no room for the EOS.
 */
export function rewardModelSource(
  rm: ScalarModel,
  opts: RewardModelSourceOptions = {},
): RewardSource {
  const truncated = opts.truncated ?? "as_is";
  if (truncated !== "as_is" && truncated !== "append_eos") {
    throw new ConfigError(`truncated must be "as_is" or "append_eos", got ${show(truncated)}`);
  }
  if (truncated === "as_is") return (_prompts, _responses, batch) => rewardScoresOf(rm, batch);
  return async (prompts, responses) =>
    await rewardScoresOf(
      rm,
      responseBatch(prompts, responses.map(finishedText), rm.config.context - 1),
    );
}

/** A response ending with EOS: itself, or a copy with EOS appended. */
export function finishedText(response: readonly number[]): readonly number[] {
  return response[response.length - 1] === EOS_ID ? response : [...response, EOS_ID];
}

/**
 * One batch of experience. Arrays [B, T] are row-major and 0 outside the response.
 * Log-probabilities are those of the tempered models π_τ = softmax(logits/τ) at the
 * sampling temperature τ: the policy whose ratio PPO clips is the one that drew the
 * samples, and the KL is between the tempered policy and the tempered reference.
 */
export interface Rollout {
  /** Prompt token ids (with BOS), one row each. */
  prompts: number[][];
  /** Sampled response token ids per row. */
  responses: number[][];
  /** Prompts and responses laid out for scoring. */
  batch: ResponseBatch;
  /** Whether each row emitted EOS. */
  finished: boolean[];
  /** log π_old,τ(y_t) at sampling time (at the sampling temperature τ), [B, T]. */
  logProbs: Float32Array;
  /** log π_ref,τ(y_t), [B, T]. */
  refLogProbs: Float32Array;
  /** V(s_t), [B, T]; 0 where the rollout was collected without a value model. */
  values: Float32Array;
  /** The chosen estimator of KL(π‖π_ref) per token, [B, T]. */
  klPerToken: Float32Array;
  /** The training reward of each completion, [B]. */
  scores: Float32Array;
  /** Wall time of the sampling, seconds. */
  sampleSeconds: number;
}

/** What {@link collectRollout} needs. */
export interface RolloutSpec {
  /** The policy to sample from (π_old). */
  policy: CausalLM;
  /** The frozen reference policy of the KL penalty. */
  ref: CausalLM;
  /**
   * The value model V(s_t) (PPO); absent for the critic-free methods (GRPO, RLOO, online
   * DPO, lib/train/group_rollout.ts), whose `values` are then 0.
   */
  value?: ScalarModel;
  /** Prompt token ids (with BOS), one completion each. */
  prompts: number[][];
  /** Maximum new tokens per completion. */
  maxNewTokens: number;
  /** Sampling temperature. */
  temperature: number;
  /** Which per-token estimator of KL(π‖π_ref) shapes the reward. */
  klEstimator: KlEstimator;
  /** The training reward of a completion. */
  reward: RewardSource;
  /** The sampling stream. */
  rng: Rng;
}

/**
 * Sample and read one batch of experience (no gradients): the one sampling and scoring
 * path of every on-policy trainer (PPO here, the critic-free ones through
 * lib/train/group_rollout.ts).
 */
export async function collectRollout(s: RolloutSpec): Promise<Rollout> {
  const t0 = performance.now();
  const sample = await s.policy.sample(s.prompts, {
    maxNewTokens: s.maxNewTokens,
    temperature: s.temperature,
  }, s.rng);
  const sampleSeconds = (performance.now() - t0) / 1000;
  const batch = responseBatch(s.prompts, sample.tokens, s.policy.config.context);
  const { batch: b, length: t } = batch;
  const out = tf.tidy(() => {
    const tokens = tf.tensor2d(batch.tokens, [b, t + 1], "int32");
    const mask = tf.tensor2d(batch.mask, [b, t]);
    const inputs = tokens.slice([0, 0], [b, t]) as Tensor2D;
    const targets = tokens.slice([0, 1], [b, t]);
    const logits = temperedLogits(s.policy, inputs, s.temperature); // [B, T, V]
    const refLogits = temperedLogits(s.ref, inputs, s.temperature); // [B, T, V]
    return {
      logProbs: gatherLogProbs(logits, targets).mul(mask), // [B, T]
      refLogProbs: gatherLogProbs(refLogits, targets).mul(mask), // [B, T]
      full: s.klEstimator === "full" ? fullKl(logits, refLogits).mul(mask) : tf.zeros([b, t]),
      values: s.value ? s.value.scores(inputs).mul(mask) : tf.zeros([b, t]), // [B, T]
    };
  });
  const [logProbs, refLogProbs, full, values] = await Promise.all(
    [out.logProbs, out.refLogProbs, out.full, out.values].map(async (x) =>
      (await x.data()) as Float32Array
    ),
  );
  tf.dispose(Object.values(out));
  const klPerToken = s.klEstimator === "full"
    ? full!
    : klPerTokenArray(logProbs!, refLogProbs!, s.klEstimator).map((k, i) => k * batch.mask[i]!);
  const scores = await s.reward(s.prompts, sample.tokens, batch);
  return {
    prompts: s.prompts,
    responses: sample.tokens,
    batch,
    finished: sample.finished,
    logProbs: logProbs!,
    refLogProbs: refLogProbs!,
    values: values!,
    klPerToken,
    scores,
    sampleSeconds,
  };
}

/** Σ_t (log π − log π_ref) of each row's response: a sample of KL(π‖π_ref) per sequence. */
export function sequenceKl(
  logProbs: Float32Array,
  refLogProbs: Float32Array,
  batch: ResponseBatch,
): Float32Array {
  const out = new Float32Array(batch.batch);
  for (let r = 0; r < batch.batch; r++) {
    let kl = 0;
    for (let t = 0; t < batch.length; t++) {
      const i = r * batch.length + t;
      if (batch.mask[i]) kl += logProbs[i]! - refLogProbs[i]!;
    }
    out[r] = kl;
  }
  return out;
}
