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
  /** log π(y_t | prefix) at temperature 1, per new token (the unmodified model). */
  logProbs: number[][];
  /** Whether each row emitted EOS within the limit. */
  finished: boolean[];
  /** When asked: logits per step, [steps][B·V] row-major. */
  stepLogits?: Float32Array[];
}

/** The parts of a model sampling needs. */
export interface SamplingModel {
  readonly trunk: Trunk;
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
  const temperature = opts.temperature ?? 1;
  const topK = opts.topK ?? 0;
  const eos = opts.eosId ?? EOS_ID;
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
  const b = prompts.length;
  if (b === 0) return { tokens: [], logProbs: [], finished: [] };
  const lens = prompts.map((p) => p.length);
  if (lens.some((n) => n === 0)) throw new ConfigError("every prompt needs at least BOS");
  const p = Math.max(...lens);
  if (p + maxNew - 1 > cfg.context) {
    throw new ConfigError(
      `prompt of ${p} tokens + maxNewTokens ${maxNew} exceeds the model's context of ${cfg.context}`,
    );
  }
  const v = cfg.vocabSize;
  const pads = lens.map((n) => p - n);

  // Prefill: the left-padded prompts, own positions, padding hidden from every query.
  const ids = new Int32Array(b * p).fill(PAD_ID);
  const pos = new Int32Array(b * p);
  const bias = new Float32Array(b * p * p);
  for (let r = 0; r < b; r++) {
    const pad = pads[r]!;
    prompts[r]!.forEach((tok, i) => (ids[r * p + pad + i] = tok));
    for (let i = 0; i < p; i++) {
      pos[r * p + i] = Math.max(0, i - pad);
      for (let j = 0; j < p; j++) {
        const allowed = (j >= pad && j <= i) || (i < pad && j === i);
        if (!allowed) bias[r * p * p + i * p + j] = -1e9;
      }
    }
  }
  const wte = trunk.p<tf.Rank.R2>("wte");
  const lastLogits = (hidden: tf.Tensor3D): tf.Tensor2D =>
    tf.tidy(() => {
      const t = hidden.shape[1];
      const last = hidden.slice([0, t - 1, 0], [b, 1, cfg.dModel]).reshape([b, cfg.dModel]);
      return tf.matMul(last as tf.Tensor2D, wte, false, true); // [B, V]
    });

  let cache: KvCache | undefined;
  let logits: tf.Tensor2D;
  {
    const idsT = tf.tensor2d(ids, [b, p], "int32");
    const posT = tf.tensor2d(pos, [b, p], "int32");
    const biasT = tf.tensor4d(bias, [b, 1, p, p]);
    const out = trunk.forward(idsT, { positions: posT, attnBias: biasT, returnCache: true });
    cache = out.cache;
    logits = lastLogits(out.hidden);
    tf.dispose([idsT, posT, biasT, out.hidden]);
  }

  const tokens: number[][] = prompts.map(() => []);
  const logProbs: number[][] = prompts.map(() => []);
  const finished = new Array<boolean>(b).fill(false);
  const stepLogits: Float32Array[] = [];
  const weights = new Float64Array(v);
  const sorted = new Float32Array(v);
  try {
    for (let step = 0; step < maxNew; step++) {
      const row = (await logits.data()) as Float32Array; // [B*V]
      logits.dispose();
      if (opts.returnLogits) stepLogits.push(row.slice());
      const next = new Int32Array(b).fill(PAD_ID);
      for (let r = 0; r < b; r++) {
        if (finished[r]) continue;
        const off = r * v;
        let max = -Infinity;
        for (let i = 0; i < v; i++) max = Math.max(max, row[off + i]!);
        let z1 = 0; // Σ exp(l − max), for log π at temperature 1
        for (let i = 0; i < v; i++) z1 += Math.exp(row[off + i]! - max);
        let threshold = -Infinity;
        if (topK > 0 && topK < v) {
          sorted.set(row.subarray(off, off + v));
          sorted.sort();
          threshold = sorted[v - topK]!;
        }
        for (let i = 0; i < v; i++) {
          const l = row[off + i]!;
          weights[i] = l >= threshold ? Math.exp((l - max) / temperature) : 0;
        }
        const tok = rng.categorical(weights, 0, v);
        next[r] = tok;
        tokens[r]!.push(tok);
        logProbs[r]!.push(row[off + tok]! - max - Math.log(z1));
        if (tok === eos) finished[r] = true;
      }
      if (step === maxNew - 1 || finished.every((f) => f)) break;

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
      logits = lastLogits(out.hidden);
      tf.dispose([idsT, posT, biasT, out.hidden]);
    }
  } finally {
    disposeCache(cache);
  }
  return { tokens, logProbs, finished, stepLogits: opts.returnLogits ? stepLogits : undefined };
}
