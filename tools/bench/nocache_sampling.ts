/**
 * The benchmark's baseline sampler: the same draws as `sampleWithCache` but without a KV
 * cache — every step runs the trunk over the whole prefix (prompt + tokens so far) and
 * reads the last position's logits, as nanoGPT's `generate` does. Step t costs O(t) token
 * passes, so a continuation of n tokens costs O(n²) instead of O(n).
 *
 * It shares the left-padded layout and the token drawer with the cached sampler, so for a
 * seed it returns the same tokens (up to float rounding in the logits).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../../lib/util/rng.ts";
import { PAD_ID } from "../../lib/data/special_tokens.ts";
import {
  lastPositionLogits,
  leftPad,
  type SampleOptions,
  type SampleResult,
  sampleSettings,
  type SamplingModel,
  TokenDrawer,
} from "../../lib/models/sampling.ts";

/**
 * Sample continuations of `prompts`, recomputing the whole prefix at each step.
 * @param prompts token ids per row, each starting with BOS.
 * @returns the sampled tokens and their log-probabilities (plain arrays; no tensors).
 */
export async function sampleNoCache(
  model: SamplingModel,
  prompts: number[][],
  opts: SampleOptions,
  rng: Rng,
): Promise<SampleResult> {
  const trunk = model.trunk;
  const cfg = trunk.config;
  const set = sampleSettings(opts, prompts, cfg.context);
  const b = prompts.length;
  if (b === 0) return { tokens: [], logProbs: [], finished: [] };
  const v = cfg.vocabSize;
  const drawer = new TokenDrawer(v, set.temperature, set.topK);
  const rows = prompts.map((p) => [...p]); // prompt + tokens fed so far
  const tokens: number[][] = prompts.map(() => []);
  const logProbs: number[][] = prompts.map(() => []);
  const finished = new Array<boolean>(b).fill(false);
  const stepLogits: Float32Array[] = [];
  const wteT = tf.transpose(trunk.p("wte")) as tf.Tensor2D; // [D, V]
  try {
    for (let step = 0; step < set.maxNewTokens; step++) {
      const { length: s, ids, positions, bias } = leftPad(rows);
      const idsT = tf.tensor2d(ids, [b, s], "int32");
      const posT = tf.tensor2d(positions, [b, s], "int32");
      const biasT = tf.tensor4d(bias, [b, 1, s, s]);
      const { hidden } = trunk.forward(idsT, { positions: posT, attnBias: biasT }); // [B, S, D]
      const logits = lastPositionLogits(hidden, wteT); // [B, V]
      tf.dispose([idsT, posT, biasT, hidden]);
      const row = (await logits.data()) as Float32Array; // [B*V]
      logits.dispose();
      if (opts.returnLogits) stepLogits.push(row.slice());
      for (let r = 0; r < b; r++) {
        // A finished row keeps being fed PAD, exactly as the cached sampler feeds it.
        let next = PAD_ID;
        if (!finished[r]) {
          const { token, logProb } = drawer.draw(row, r * v, rng);
          next = token;
          tokens[r]!.push(token);
          logProbs[r]!.push(logProb);
          if (token === set.eosId) finished[r] = true;
        }
        rows[r]!.push(next);
      }
      if (finished.every((f) => f)) break;
    }
  } finally {
    wteT.dispose();
  }
  return { tokens, logProbs, finished, stepLogits: opts.returnLogits ? stepLogits : undefined };
}
