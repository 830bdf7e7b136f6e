/**
 * Held-out perplexity: exp of the mean negative log-likelihood per real token,
 * PPL = exp(− Σ log π(y_t | y_<t) / N).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { CausalLM } from "../models/causal_lm.ts";
import { sequentialBatches } from "../data/lm_batches.ts";

/** Mean NLL per token, perplexity, and the number of tokens scored. */
export interface PerplexityResult {
  /** Mean negative log-likelihood per token, in nats. */
  nll: number;
  /** Perplexity, exp(nll). */
  ppl: number;
  /** Number of real tokens scored. */
  tokens: number;
}

/**
 * Score `seqs` (each [BOS, …, EOS] within the context) with `model`.
 * One device read per batch; no gradients.
 */
export async function perplexity(
  model: CausalLM,
  seqs: readonly (readonly number[])[],
  batchSize = 64,
): Promise<PerplexityResult> {
  let total = 0, tokens = 0;
  for (const batch of sequentialBatches(seqs, batchSize)) {
    const sum = tf.tidy(() => {
      const toks = tf.tensor2d(batch.tokens, [batch.batch, batch.length + 1], "int32");
      const mask = tf.tensor2d(batch.mask, [batch.batch, batch.length]);
      return model.tokenLogProbs(toks).mul(mask).sum();
    });
    total -= (await sum.data())[0]!;
    sum.dispose();
    tokens += batch.realTokens;
  }
  const nll = total / Math.max(tokens, 1);
  return { nll, ppl: Math.exp(nll), tokens };
}
