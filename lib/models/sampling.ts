/**
 * Batched autoregressive sampling with a KV cache.
 *
 * Prompts of different lengths are left-padded; each row gets its own position ids
 * (counting from its BOS) and an attention bias that hides its padding, so a row's
 * logits equal those of the same tokens run alone, right-aligned from position 0.
 * After the prompt is run once (prefill), each step feeds one token per row and attends
 * to the cached keys and values: O(T) work per step instead of O(T²).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor2D, Tensor3D } from "../util/tensor_types.ts";
import type { Rng } from "../util/rng.ts";
import { ConfigError } from "../util/errors.ts";
import { disposeCache, type KvCache, type Trunk } from "./transformer.ts";
import { EOS_ID, PAD_ID } from "../data/special_tokens.ts";

/** How to sample. */
export interface SampleOptions {
  /** Maximum number of new tokens per row. */
  maxNewTokens: number;
  /** Softmax temperature (> 0). Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = all). Default 0. */
  topK?: number;
  /** Stop a row when it emits this id. Default {@link EOS_ID}. */
  eosId?: number;
  /** Also return each step's raw logits (for tests). */
  returnLogits?: boolean;
}

/** Sampled continuations. */
export interface SampleResult {
  /** New token ids per row, ending with EOS when the row finished. */
  tokens: number[][];
  /**
   * log π_τ(y_t | prefix) = log softmax(logits/τ)[y_t] per new token: the tempered model
   * the tokens were drawn from (without top-k truncation, as TRL recomputes them).
   */
  logProbs: number[][];
  /** Whether each row emitted EOS within the limit. */
  finished: boolean[];
  /** When asked: logits per step, [steps][B·V] row-major. */
  stepLogits?: Float32Array[];
}

/** The parts of a model sampling needs. */
export interface SamplingModel {
  /** The trunk to sample from. */
  readonly trunk: Trunk;
}

/** {@link SampleOptions} checked against a model and a batch, defaults filled in. */
export interface SampleSettings {
  /** Softmax temperature, > 0. */
  temperature: number;
  /** Top-k cut-off (0: the whole vocabulary). */
  topK: number;
  /** Token id that finishes a row. */
  eosId: number;
  /** Maximum new tokens per row. */
  maxNewTokens: number;
  /** The longest prompt. */
  promptLength: number;
}

/**
 * Check sampling options and prompts against a model's context.
 * @throws ConfigError naming the bad option or prompt.
 */
export function sampleSettings(
  opts: SampleOptions,
  prompts: readonly (readonly number[])[],
  context: number,
): SampleSettings {
  const temperature = opts.temperature ?? 1;
  const topK = opts.topK ?? 0;
  const maxNew = opts.maxNewTokens;
  if (!(temperature > 0)) {
    throw new ConfigError(`temperature must be > 0, got ${temperature}`);
  }
  if (!Number.isInteger(topK) || topK < 0) {
    throw new ConfigError(`topK must be an integer >= 0, got ${topK}`);
  }
  if (!Number.isInteger(maxNew) || maxNew < 1) {
    throw new ConfigError(`maxNewTokens must be an integer >= 1, got ${maxNew}`);
  }
  const lens = prompts.map((p) => p.length);
  if (lens.some((n) => n === 0)) throw new ConfigError("every prompt needs at least BOS");
  const p = Math.max(0, ...lens);
  if (p + maxNew - 1 > context) {
    throw new ConfigError(
      `prompt of ${p} tokens + maxNewTokens ${maxNew} exceeds the model's context of ${context}`,
    );
  }
  return { temperature, topK, eosId: opts.eosId ?? EOS_ID, maxNewTokens: maxNew, promptLength: p };
}

/** A left-padded batch as the trunk takes it: ids, own positions, attention bias. */
export interface LeftPadded {
  /** Width S (the longest row). */
  length: number;
  /** Padding before each row. */
  pads: number[];
  /** [B, S] token ids, {@link PAD_ID} in the padding. */
  ids: Int32Array;
  /** [B, S] position ids, counting from each row's first real token. */
  positions: Int32Array;
  /** [B, 1, S, S] additive bias: causal over real tokens; padding hidden from every query. */
  bias: Float32Array;
}

/** Lay out `rows` left-padded to a common width (see {@link LeftPadded}). */
export function leftPad(rows: readonly (readonly number[])[]): LeftPadded {
  const b = rows.length;
  const p = Math.max(0, ...rows.map((r) => r.length));
  const pads = rows.map((r) => p - r.length);
  const ids = new Int32Array(b * p).fill(PAD_ID);
  const positions = new Int32Array(b * p);
  const bias = new Float32Array(b * p * p);
  for (let r = 0; r < b; r++) {
    const pad = pads[r]!;
    rows[r]!.forEach((tok, i) => (ids[r * p + pad + i] = tok));
    for (let i = 0; i < p; i++) {
      positions[r * p + i] = Math.max(0, i - pad);
      for (let j = 0; j < p; j++) {
        const allowed = (j >= pad && j <= i) || (i < pad && j === i);
        if (!allowed) bias[r * p * p + i * p + j] = -1e9;
      }
    }
  }
  return { length: p, pads, ids, positions, bias };
}

/** One drawn token and its log-probability log softmax(logits/τ) (top-k not applied). */
export interface Draw {
  /** The drawn token id. */
  token: number;
  /** log π(token | prefix) at temperature 1. */
  logProb: number;
}

/**
 * Draws a token from one row of logits: temperature, optional top-k, then a categorical
 * draw from {@link Rng}. Holds its scratch buffers, so reuse one per sampling call.
 */
export class TokenDrawer {
  readonly #weights: Float64Array;
  readonly #sorted: Float32Array;

  /** A drawer for rows of `vocabSize` logits at this temperature and top-k (0: off). */
  constructor(readonly vocabSize: number, readonly temperature: number, readonly topK: number) {
    this.#weights = new Float64Array(vocabSize);
    this.#sorted = new Float32Array(vocabSize);
  }

  /** Draw from logits `row[off .. off+V)`. */
  draw(row: Float32Array, off: number, rng: Rng): Draw {
    const v = this.vocabSize, weights = this.#weights;
    let max = -Infinity;
    for (let i = 0; i < v; i++) {
      const l = row[off + i]!;
      if (l > max) max = l;
    }
    const topK = this.topK > 0 && this.topK < v;
    const temperature = this.temperature;
    const plain = temperature === 1 && !topK;
    let z = 0; // Σ exp((l − max)/τ), for log π_τ
    for (let i = 0; i < v; i++) {
      const e = Math.exp(
        temperature === 1 ? row[off + i]! - max : (row[off + i]! - max) / temperature,
      );
      if (plain) weights[i] = e; // without top-k the sampling weights are these terms
      z += e;
    }
    if (!plain) {
      let threshold = -Infinity;
      if (topK) {
        this.#sorted.set(row.subarray(off, off + v));
        this.#sorted.sort();
        threshold = this.#sorted[v - this.topK]!;
      }
      for (let i = 0; i < v; i++) {
        const l = row[off + i]!;
        weights[i] = l >= threshold ? Math.exp((l - max) / temperature) : 0;
      }
    }
    const token = rng.categorical(weights, 0, v);
    const logit = temperature === 1
      ? row[off + token]! - max
      : (row[off + token]! - max) / temperature;
    return { token, logProb: logit - Math.log(z) };
  }
}

/**
 * Logits of the last position through the tied output embedding.
 * @param hidden [B, T, D].
 * @param wteT [D, V], the transposed token embedding.
 * @returns [B, V]; the caller disposes it.
 */
export function lastPositionLogits(hidden: Tensor3D, wteT: Tensor2D): Tensor2D {
  return tf.tidy(() => {
    const [b, t, d] = hidden.shape;
    const last = hidden.slice([0, t - 1, 0], [b, 1, d]).reshape([b, d]) as Tensor2D; // [B, D]
    return tf.matMul(last, wteT); // [B, V]
  });
}

/**
 * Sample continuations of `prompts` (token ids, each starting with BOS).
 * Randomness comes from `rng` only, so a seed fixes the samples on a given backend.
 */
export async function sampleWithCache(
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
  // Prefill: the left-padded prompts, own positions, padding hidden from every query.
  const { length: p, pads, ids, positions: pos, bias } = leftPad(prompts);
  const drawer = new TokenDrawer(v, set.temperature, set.topK);

  const tokens: number[][] = prompts.map(() => []);
  const logProbs: number[][] = prompts.map(() => []);
  const finished = new Array<boolean>(b).fill(false);
  const stepLogits: Float32Array[] = [];
  // The tied output matrix, transposed once per call rather than inside every step's product.
  const wteT = tf.transpose(trunk.p("wte")) as Tensor2D; // [D, V]
  let cache: KvCache | undefined;
  try {
    let logits: Tensor2D;
    {
      const idsT = tf.tensor2d(ids, [b, p], "int32");
      const posT = tf.tensor2d(pos, [b, p], "int32");
      const biasT = tf.tensor4d(bias, [b, 1, p, p]);
      const out = trunk.forward(idsT, { positions: posT, attnBias: biasT, returnCache: true });
      cache = out.cache;
      logits = lastPositionLogits(out.hidden, wteT);
      tf.dispose([idsT, posT, biasT, out.hidden]);
    }

    for (let step = 0; step < set.maxNewTokens; step++) {
      const row = (await logits.data()) as Float32Array; // [B*V]
      logits.dispose();
      if (opts.returnLogits) stepLogits.push(row.slice());
      const next = new Int32Array(b).fill(PAD_ID);
      for (let r = 0; r < b; r++) {
        if (finished[r]) continue;
        const { token, logProb } = drawer.draw(row, r * v, rng);
        next[r] = token;
        tokens[r]!.push(token);
        logProbs[r]!.push(logProb);
        if (token === set.eosId) finished[r] = true;
      }
      if (step === set.maxNewTokens - 1 || finished.every((f) => f)) break;

      // One new position per row, attending to every non-padding key so far.
      const s = p + step + 1;
      const stepPos = new Int32Array(b);
      const stepBias = new Float32Array(b * s);
      for (let r = 0; r < b; r++) {
        stepPos[r] = p - pads[r]! + step;
        for (let j = 0; j < pads[r]!; j++) stepBias[r * s + j] = -1e9;
      }
      const idsT = tf.tensor2d(next, [b, 1], "int32");
      const posT = tf.tensor2d(stepPos, [b, 1], "int32");
      const biasT = tf.tensor4d(stepBias, [b, 1, 1, s]);
      const out = trunk.forward(idsT, {
        positions: posT,
        attnBias: biasT,
        past: cache,
        returnCache: true,
      });
      disposeCache(cache);
      cache = out.cache;
      logits = lastPositionLogits(out.hidden, wteT);
      tf.dispose([idsT, posT, biasT, out.hidden]);
    }
  } finally {
    disposeCache(cache);
    wteT.dispose();
  }
  return { tokens, logProbs, finished, stepLogits: opts.returnLogits ? stepLogits : undefined };
}
