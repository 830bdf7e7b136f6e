/**
 * Tables a notebook shows that the experiment does not write: the per-token quantities of
 * one PPO rollout row, read off the same arrays the trainer uses.
 *
 * @module
 */
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import type { Rollout } from "../train/rollout.ts";
import type { RolloutAdvantages } from "../train/ppo_advantages.ts";

/**
 * One completion of a rollout, one row per response token: the token, log π, log π_ref,
 * the per-token KL estimate, the shaped reward R_t, the value V(s_t), the GAE advantage
 * before and after whitening, and the return.
 * @param ro the rollout.
 * @param row which completion (0-based).
 * @param adv the rollout's advantages (`rolloutAdvantages` of lib/train/ppo_advantages.ts).
 * @param pieceOf a token id's text (a tokenizer's `pieceOf`).
 */
export function rolloutTokenTable(
  ro: Rollout,
  row: number,
  adv: RolloutAdvantages,
  pieceOf: (id: number) => string,
): ColumnTable {
  const { batch } = ro;
  const T = batch.length;
  const rows: Record<string, number | string>[] = [];
  for (let t = 0; t < T; t++) {
    const i = row * T + t;
    if (!batch.mask[i]) continue;
    rows.push({
      k: rows.length + 1,
      token: pieceOf(batch.tokens[row * (T + 1) + t + 1]!),
      "log π": ro.logProbs[i]!,
      "log π_ref": ro.refLogProbs[i]!,
      "KL_t": ro.klPerToken[i]!,
      "R_t": adv.rewards[i]!,
      "V(s_t)": ro.values[i]!,
      "A_t": adv.rawAdvantages[i]!,
      "A_t whitened": adv.advantages[i]!,
      "return": adv.returns[i]!,
    });
  }
  return aq.from(rows);
}
