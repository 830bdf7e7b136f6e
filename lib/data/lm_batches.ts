/**
 * Language-model training batches: one sentence per row as [BOS, w₁ … wₙ, EOS], cut to
 * the model's context, right-padded to the longest row of the batch. Inputs are
 * tokens[:, :−1], targets tokens[:, 1:], and the mask is 1 where the target is real.
 *
 * @module
 */
import { BOS_ID, EOS_ID, PAD_ID } from "./special_tokens.ts";
import type { Rng } from "../util/rng.ts";

/** A padded batch in row-major typed arrays. */
export interface LmBatch {
  /** [B, T+1] token ids (inputs and shifted targets). */
  tokens: Int32Array;
  /** [B, T] 1 where tokens[:, 1:] is a real token. */
  mask: Float32Array;
  /** B: the number of rows. */
  batch: number;
  /** T: the number of predicted positions per row. */
  length: number;
  /** Number of real target tokens. */
  realTokens: number;
}

/** [BOS, ...ids, EOS] cut to at most `context + 1` tokens (context predicted positions). */
export function lmSequence(ids: readonly number[], context: number): number[] {
  return [BOS_ID, ...ids, EOS_ID].slice(0, context + 1);
}

/** Pad sequences (each ≥ 2 tokens) into one batch. */
export function padBatch(seqs: readonly (readonly number[])[]): LmBatch {
  const b = seqs.length;
  const length = Math.max(1, ...seqs.map((s) => s.length - 1));
  const tokens = new Int32Array(b * (length + 1)).fill(PAD_ID);
  const mask = new Float32Array(b * length);
  let realTokens = 0;
  seqs.forEach((s, r) => {
    tokens.set(s, r * (length + 1));
    for (let t = 0; t < s.length - 1; t++) {
      mask[r * length + t] = 1;
      realTokens++;
    }
  });
  return { tokens, mask, batch: b, length, realTokens };
}

/**
 * Endless shuffled index batches over n items: each epoch visits every index once in an
 * order drawn from `rng`. The last incomplete batch of an epoch is dropped so every step
 * sees the same batch size (one smaller batch per epoch when n < batchSize).
 */
export function* shuffledIndexBatches(n: number, batchSize: number, rng: Rng): Generator<number[]> {
  if (n === 0) throw new RangeError("no examples to batch");
  const order = Array.from({ length: n }, (_, i) => i);
  const perEpoch = Math.max(1, Math.floor(n / batchSize));
  while (true) {
    rng.shuffle(order);
    for (let k = 0; k < perEpoch; k++) yield order.slice(k * batchSize, (k + 1) * batchSize);
  }
}

/** Endless shuffled LM batches (see {@link shuffledIndexBatches}). */
export function* shuffledBatches(
  seqs: readonly (readonly number[])[],
  batchSize: number,
  rng: Rng,
): Generator<LmBatch> {
  if (seqs.length === 0) throw new RangeError("no sequences to batch");
  for (const idx of shuffledIndexBatches(seqs.length, batchSize, rng)) {
    yield padBatch(idx.map((j) => seqs[j]!));
  }
}

/** Consecutive batches over all sequences once, in order (for evaluation). */
export function* sequentialBatches(
  seqs: readonly (readonly number[])[],
  batchSize: number,
): Generator<LmBatch> {
  for (let i = 0; i < seqs.length; i += batchSize) {
    yield padBatch(seqs.slice(i, i + batchSize));
  }
}
