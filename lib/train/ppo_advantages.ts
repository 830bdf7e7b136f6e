/**
 * The chain from a PPO rollout to the advantages it trains on: adjusted scores → rewards
 * shaped with the per-token KL penalty → GAE → whitening. Pure numbers, no tensors: the
 * trainer (lib/train/ppo.ts) runs it each iteration, and a notebook can show each step.
 *
 * @module
 */
import { gae, shapeRewards, whiten } from "../losses/ppo.ts";
import type { PpoConfig } from "./ppo_config.ts";
import type { Rollout } from "./rollout.ts";

/** Every per-token quantity of one PPO update, [B, T] row-major (scores: [B]). */
export interface RolloutAdvantages {
  /** The training score of each completion after penalty, clipping and whitening, [B]. */
  scores: Float32Array;
  /** Shaped rewards R_t = −β·KL_t, plus the score at the last real token. */
  rewards: Float32Array;
  /** GAE advantages Â_t before whitening. */
  rawAdvantages: Float32Array;
  /** Whitened advantages: what the clipped surrogate uses. */
  advantages: Float32Array;
  /** Returns Â_t + V(s_t): the value model's targets. */
  returns: Float32Array;
}

/**
 * The chain from a rollout to the advantages PPO trains on (Ziegler et al. 2019; Schulman
 * et al. 2016): adjust scores ({@link adjustScores}) → shape rewards with the per-token KL
 * penalty at coefficient β → GAE(γ, λ) over the value estimates → whiten over the batch's
 * response tokens. Pure: the same function {@link trainPpo} runs each iteration, exposed so
 * a notebook can show each step's numbers.
 */
export function rolloutAdvantages(
  ro: Rollout,
  c: Pick<PpoConfig, "noEosPenalty" | "rewardClip" | "whitenRewards" | "gamma" | "lambda">,
  beta: number,
): RolloutAdvantages {
  const { batch } = ro;
  const scores = adjustScores(ro, c);
  const rewards = shapeRewards({
    klPerToken: ro.klPerToken,
    score: scores,
    lastIndex: batch.lastIndex,
    beta,
    mask: batch.mask,
  });
  const { advantages: rawAdvantages, returns } = gae({
    rewards,
    values: ro.values,
    mask: batch.mask,
    T: batch.length,
    gamma: c.gamma,
    lambda: c.lambda,
  });
  return { scores, rewards, rawAdvantages, advantages: whiten(rawAdvantages, batch.mask), returns };
}

/** The training score after the optional no-EOS penalty, clipping and whitening. */
export function adjustScores(
  ro: Pick<Rollout, "scores" | "finished">,
  c: Pick<PpoConfig, "noEosPenalty" | "rewardClip" | "whitenRewards">,
): Float32Array {
  const s = Float32Array.from(ro.scores);
  for (let i = 0; i < s.length; i++) {
    if (c.noEosPenalty !== null && !ro.finished[i]) s[i] = s[i]! - c.noEosPenalty;
    if (c.rewardClip !== null) s[i] = Math.max(-c.rewardClip, Math.min(c.rewardClip, s[i]!));
  }
  if (c.whitenRewards) return whiten(s, new Float32Array(s.length).fill(1));
  return s;
}
