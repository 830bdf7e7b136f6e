/**
 * A causal transformer (GPT-2 layout, Radford et al. 2019; nanoGPT's shape): token +
 * position embeddings, pre-LayerNorm blocks of causal self-attention and a GELU MLP, a
 * final LayerNorm. The trunk returns hidden states; heads live in `causal_lm.ts` (tied
 * output embedding) and `scalar_head.ts` (one number per position).
 *
 * Reads small to large: attention → MLP → block → trunk.
 *
 * Dimensions: B batch, T new positions, S positions attended to (past + new), D width,
 * H heads, hd = D/H, V vocabulary.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D } from "../util/tensor_types.ts";
import type { ModelConfig } from "./config.ts";
import { embed, gelu, layerNorm, linear } from "./layers.ts";
import { normalValues, type Params, variable } from "./params.ts";
import { Rng } from "../util/rng.ts";

/** Keys and values of earlier positions, per layer: [B, H, S_past, hd]. Owned by the caller. */
export interface KvCache {
  /** Keys per layer, [B, H, S_past, hd]. */
  k: Tensor4D[];
  /** Values per layer, [B, H, S_past, hd]. */
  v: Tensor4D[];
}

/** How a forward pass runs. */
export interface ForwardOptions {
  /** Apply dropout (training). Default false. */
  training?: boolean;
  /** Seed for dropout masks; vary it per step for independent masks. */
  dropoutSeed?: number;
  /**
   * Position ids [B, T] int32. Default: 0..T−1 for every row (right-padded batches).
   * Left-padded sampling passes each row's own positions.
   */
  positions?: Tensor2D;
  /**
   * Additive attention bias [B or 1, 1, T, S]: 0 where attending is allowed, −1e9
   * elsewhere. Default: the causal mask over T (no past).
   */
  attnBias?: Tensor4D;
  /** Past keys and values; when given, the pass also returns the extended cache. */
  past?: KvCache;
  /** Return the keys and values of this pass (for a KV cache). */
  returnCache?: boolean;
}

/** Hidden states [B, T, D] after the final LayerNorm, and the new cache when asked. */
export interface TrunkOutput {
  /** [B, T, D] hidden states after the final LayerNorm. */
  hidden: Tensor3D;
  /** The cache extended by this pass, when asked for. */
  cache?: KvCache;
}

const causalBiases = new Map<number, Tensor4D>();
/**
 * The additive causal mask [1, 1, T, T]: 0 on and below the diagonal, −1e9 above.
 * One full-context mask is kept per context size and sliced, so varying batch lengths
 * create no lasting tensors. The slice belongs to the caller's tidy scope.
 */
export function causalBias(t: number, context: number): Tensor4D {
  let bias = causalBiases.get(context);
  if (!bias) {
    const values = new Float32Array(context * context);
    for (let i = 0; i < context; i++) {
      for (let j = i + 1; j < context; j++) values[i * context + j] = -1e9;
    }
    bias = tf.keep(tf.tensor4d(values, [1, 1, context, context]));
    causalBiases.set(context, bias);
  }
  return bias.slice([0, 0, 0, 0], [1, 1, t, t]);
}

/** A parameter's name, shape and initialiser. */
export interface ParamSpec {
  /** Parameter name, e.g. `h.0.attn.wqkv`. */
  name: string;
  /** Parameter shape. */
  shape: number[];
  /** Standard deviation of a normal init, or a constant fill. */
  init: { std: number } | { fill: number };
}

/**
 * The trunk's parameters in a fixed order: N(0, 0.02) weights, residual projections
 * N(0, 0.02/√(2L)) as GPT-2, LayerNorm gains 1, biases 0.
 */
export function trunkParamSpecs(cfg: ModelConfig): ParamSpec[] {
  const d = cfg.dModel, hidden = cfg.mlpRatio * d;
  const std = 0.02, residStd = 0.02 / Math.sqrt(2 * cfg.nLayers);
  const specs: ParamSpec[] = [
    { name: "wte", shape: [cfg.vocabSize, d], init: { std } },
    { name: "wpe", shape: [cfg.context, d], init: { std: std / 2 } },
  ];
  for (let l = 0; l < cfg.nLayers; l++) {
    const h = `h.${l}`;
    specs.push(
      { name: `${h}.ln1.g`, shape: [d], init: { fill: 1 } },
      { name: `${h}.ln1.b`, shape: [d], init: { fill: 0 } },
      { name: `${h}.attn.wqkv`, shape: [d, 3 * d], init: { std } },
      { name: `${h}.attn.bqkv`, shape: [3 * d], init: { fill: 0 } },
      { name: `${h}.attn.wo`, shape: [d, d], init: { std: residStd } },
      { name: `${h}.attn.bo`, shape: [d], init: { fill: 0 } },
      { name: `${h}.ln2.g`, shape: [d], init: { fill: 1 } },
      { name: `${h}.ln2.b`, shape: [d], init: { fill: 0 } },
      { name: `${h}.mlp.w1`, shape: [d, hidden], init: { std } },
      { name: `${h}.mlp.b1`, shape: [hidden], init: { fill: 0 } },
      { name: `${h}.mlp.w2`, shape: [hidden, d], init: { std: residStd } },
      { name: `${h}.mlp.b2`, shape: [d], init: { fill: 0 } },
    );
  }
  specs.push(
    { name: "lnf.g", shape: [d], init: { fill: 1 } },
    { name: "lnf.b", shape: [d], init: { fill: 0 } },
  );
  return specs;
}

/** Initialise parameters from their specs, drawing from one seeded stream in spec order. */
export function initParams(specs: ParamSpec[], seed: number): Params {
  const rng = new Rng(seed);
  const p: Params = new Map();
  for (const spec of specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const values = "std" in spec.init
      ? normalValues(rng, spec.shape, spec.init.std)
      : new Float32Array(n).fill(spec.init.fill);
    p.set(spec.name, variable(spec.name, values, spec.shape));
  }
  return p;
}

/** Initialise a trunk's parameters (see {@link trunkParamSpecs}). */
export function initTrunkParams(cfg: ModelConfig, seed: number): Params {
  return initParams(trunkParamSpecs(cfg), seed);
}

/** The shared trunk: embeddings, blocks, final LayerNorm. */
export class Trunk {
  /** A trunk over `params` (which must match `config`'s parameter specs); it does not copy them. */
  constructor(readonly config: ModelConfig, readonly params: Params) {}

  /**
   * Parameter by name, typed as the rank the caller expects (unchecked: the parameter specs
   * fix each shape); a missing name is a programming error.
   */
  p<T extends Tensor = Tensor>(name: string): T {
    const v = this.params.get(name);
    if (!v) throw new Error(`model has no parameter ${name}`);
    return v as unknown as T;
  }

  /**
   * Run the trunk on token ids.
   * @param ids [B, T] int32.
   * @returns hidden [B, T, D] (and the cache) — the caller disposes them.
   */
  forward(ids: Tensor2D, opts: ForwardOptions = {}): TrunkOutput {
    const cfg = this.config;
    const [b, t] = ids.shape;
    const sPast = opts.past?.k[0]?.shape[2] ?? 0;
    // Left-padded sampling passes explicit positions and checks its own length.
    if (!opts.positions && sPast + t > cfg.context) {
      throw new RangeError(
        `sequence of ${sPast + t} positions exceeds the model's context of ${cfg.context}`,
      );
    }
    const newK: Tensor4D[] = [], newV: Tensor4D[] = [];
    const hidden = tf.tidy(() => {
      const d = cfg.dModel;
      // token + position embeddings, flattened to [B*T, D] for the linear maps
      const tok = embed(ids.reshape([-1]) as Tensor1D, this.p("wte")); // [B*T, D]
      // Shared positions are broadcast over the batch: a tile's gradient would be B slices.
      const emb = opts.positions
        ? tok.add(tf.gather(this.p("wpe"), opts.positions.reshape([-1]))) // [B*T, D]
        : tok.reshape([b, t, d]).add(this.p("wpe").slice([sPast, 0], [t, d])) // [B, T, D]
          .reshape([b * t, d]);
      let x = this.#dropout(emb, opts, 0) as Tensor2D; // [B*T, D]
      const bias = opts.attnBias ?? causalBias(t, cfg.context);
      for (let l = 0; l < cfg.nLayers; l++) {
        const h = `h.${l}`;
        const a = layerNorm(x, this.p(`${h}.ln1.g`), this.p(`${h}.ln1.b`)) as Tensor2D;
        const att = this.attention(a, b, t, l, bias, opts);
        if (att.k) {
          newK.push(tf.keep(att.k));
          newV.push(tf.keep(att.v!));
        }
        x = x.add(this.#dropout(att.y, opts, 2 * l + 1));
        const m = layerNorm(x, this.p(`${h}.ln2.g`), this.p(`${h}.ln2.b`)) as Tensor2D;
        x = x.add(this.#dropout(this.mlp(m, l), opts, 2 * l + 2));
      }
      return layerNorm(x, this.p("lnf.g"), this.p("lnf.b")).reshape([b, t, d]) as Tensor3D;
    });
    return { hidden, cache: newK.length ? { k: newK, v: newV } : undefined };
  }

  /**
   * Causal self-attention (Vaswani et al. 2017): softmax(q·kᵀ/√hd + bias)·v over all heads.
   * @param x [B*T, D] normalised input.
   * @returns y [B*T, D], plus the full keys and values [B, H, S, hd] when caching.
   */
  attention(
    x: Tensor2D,
    b: number,
    t: number,
    layer: number,
    bias: Tensor4D,
    opts: ForwardOptions,
  ): { y: Tensor2D; k?: Tensor4D; v?: Tensor4D } {
    const { dModel: d, nHeads: nh } = this.config;
    const hd = d / nh;
    const h = `h.${layer}`;
    const qkv = linear(x, this.p(`${h}.attn.wqkv`), this.p(`${h}.attn.bqkv`)); // [B*T, 3D]
    const [q2, k2, v2] = tf.split(qkv, 3, 1) as [Tensor2D, Tensor2D, Tensor2D];
    const heads = (z: Tensor2D) => z.reshape([b, t, nh, hd]).transpose([0, 2, 1, 3]);
    const q = heads(q2) as Tensor4D; // [B, H, T, hd]
    let k = heads(k2) as Tensor4D; // [B, H, T, hd]
    let v = heads(v2) as Tensor4D;
    const past = opts.past;
    if (past) {
      k = tf.concat([past.k[layer]!, k], 2); // [B, H, S, hd]
      v = tf.concat([past.v[layer]!, v], 2);
    }
    let att = tf.matMul(q, k, false, true).mul(1 / Math.sqrt(hd)).add(bias); // [B, H, T, S]
    att = tf.softmax(att, -1);
    const y = tf.matMul(att, v) // [B, H, T, hd]
      .transpose([0, 2, 1, 3]) // [B, T, H, hd]
      .reshape([b * t, d]) as Tensor2D;
    const out = linear(y, this.p(`${h}.attn.wo`), this.p(`${h}.attn.bo`)); // [B*T, D]
    return opts.past || opts.returnCache ? { y: out, k, v } : { y: out };
  }

  /** Position-wise MLP: GELU(x·W1 + b1)·W2 + b2. [B*T, D] → [B*T, D]. */
  mlp(x: Tensor2D, layer: number): Tensor2D {
    const h = `h.${layer}`;
    const hidden = gelu(linear(x, this.p(`${h}.mlp.w1`), this.p(`${h}.mlp.b1`))) as Tensor2D;
    return linear(hidden, this.p(`${h}.mlp.w2`), this.p(`${h}.mlp.b2`));
  }

  #dropout(x: Tensor, opts: ForwardOptions, site: number): Tensor {
    const rate = this.config.dropout;
    if (!opts.training || rate === 0) return x;
    return tf.dropout(x, rate, undefined, (opts.dropoutSeed ?? 0) * 1009 + site);
  }
}

/** Dispose every tensor of a cache. */
export function disposeCache(cache: KvCache | undefined): void {
  if (!cache) return;
  tf.dispose([...cache.k, ...cache.v]);
}
