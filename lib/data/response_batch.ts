/**
 * The layout every RLHF method shares: a row is [BOS, prompt…, response…] right-padded;
 * predicted positions t = 0 … T−1 predict tokens[t+1]; the response mask is 1 where that
 * target is a response token. The reward model reads the last real token, `lastToken`
 * (the EOS or the last generated token, never padding).
 *
 *   tokens   [B, T+1]   BOS p₁ p₂ y₁ y₂ EOS PAD
 *   mask     [B, T]         0  1  1  1   0       (mask[t] = 1 ⇔ tokens[t+1] ∈ response)
 *   lastToken[B]                      ^ index 5 in tokens; lastIndex = 4 in mask space
 *
 * @module
 */
import { PAD_ID } from "./special_tokens.ts";
import { ConfigError } from "../util/errors.ts";

/** Prompt + response rows in row-major typed arrays. */
export interface ResponseBatch {
  /** [B, T+1] token ids. */
  tokens: Int32Array;
  /** [B, T] 1 where tokens[:, t+1] is a response token. */
  mask: Float32Array;
  /** B: the number of rows. */
  batch: number;
  /** T: predicted positions per row. */
  length: number;
  /** Per row, index in `tokens` of the last real token (for reward models). */
  lastToken: Int32Array;
  /** Per row, index in mask space of the last response token (= lastToken − 1). */
  lastIndex: Int32Array;
  /** Per row, number of response tokens. */
  responseLengths: Int32Array;
}

/**
 * Lay out prompts (each starting with BOS) and responses (possibly ending with EOS).
 * Every response needs at least one token: an empty one has no last token to score.
 * @param context the model's context; each row must fit in context + 1 tokens.
 */
export function responseBatch(
  prompts: readonly (readonly number[])[],
  responses: readonly (readonly number[])[],
  context: number,
): ResponseBatch {
  const b = prompts.length;
  if (responses.length !== b) {
    throw new RangeError(`got ${b} prompts but ${responses.length} responses`);
  }
  let longest = 2;
  for (let r = 0; r < b; r++) {
    const n = prompts[r]!.length + responses[r]!.length;
    if (prompts[r]!.length === 0) {
      throw new ConfigError(`prompt ${r} is empty (it needs at least BOS)`);
    }
    if (responses[r]!.length === 0) throw new ConfigError(`response ${r} is empty`);
    if (n > context + 1) {
      throw new ConfigError(
        `row ${r} has ${n} tokens (prompt ${prompts[r]!.length} + response ${
          responses[r]!.length
        }) but the model's context allows ${context + 1}`,
      );
    }
    longest = Math.max(longest, n);
  }
  const length = longest - 1;
  const tokens = new Int32Array(b * (length + 1)).fill(PAD_ID);
  const mask = new Float32Array(b * length);
  const lastToken = new Int32Array(b);
  const lastIndex = new Int32Array(b);
  const responseLengths = new Int32Array(b);
  for (let r = 0; r < b; r++) {
    const p = prompts[r]!, y = responses[r]!;
    tokens.set(p, r * (length + 1));
    tokens.set(y, r * (length + 1) + p.length);
    for (let i = 0; i < y.length; i++) mask[r * length + p.length - 1 + i] = 1;
    lastToken[r] = p.length + y.length - 1;
    lastIndex[r] = lastToken[r]! - 1;
    responseLengths[r] = y.length;
  }
  return { tokens, mask, batch: b, length, lastToken, lastIndex, responseLengths };
}

/** Rows `rows` of a batch, as a new batch (for minibatches). */
export function selectRows(batch: ResponseBatch, rows: readonly number[]): ResponseBatch {
  const t = batch.length;
  const tokens = new Int32Array(rows.length * (t + 1));
  const mask = new Float32Array(rows.length * t);
  rows.forEach((r, i) => {
    tokens.set(batch.tokens.subarray(r * (t + 1), (r + 1) * (t + 1)), i * (t + 1));
    mask.set(batch.mask.subarray(r * t, (r + 1) * t), i * t);
  });
  const pick = (a: Int32Array) => Int32Array.from(rows, (r) => a[r]!);
  return {
    tokens,
    mask,
    batch: rows.length,
    length: t,
    lastToken: pick(batch.lastToken),
    lastIndex: pick(batch.lastIndex),
    responseLengths: pick(batch.responseLengths),
  };
}

/** Rows `rows` of a [B, T] row-major array. */
export function selectRowsOf(
  x: Float32Array,
  width: number,
  rows: readonly number[],
): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => out.set(x.subarray(r * width, (r + 1) * width), i * width));
  return out;
}

/** One preference pair in token ids: a prompt (with BOS) and two responses. */
export interface TokenPair {
  /** Prompt token ids, starting with BOS. */
  prompt: readonly number[];
  /** The preferred response's token ids (y_w). */
  chosen: readonly number[];
  /** The rejected response's token ids (y_l). */
  rejected: readonly number[];
  /** The annotator declared no preference; trainers and accuracies skip such pairs. */
  tie?: boolean;
}

/**
 * Chosen and rejected of `pairs` as one batch of 2B rows — chosen first, then rejected —
 * so both go through the model in one concatenated forward pass (as the DPO reference
 * code does).
 */
export function pairBatch(pairs: readonly TokenPair[], context: number): ResponseBatch {
  return responseBatch(
    [...pairs.map((p) => p.prompt), ...pairs.map((p) => p.prompt)],
    [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)],
    context,
  );
}
