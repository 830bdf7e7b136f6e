/**
 * Named model parameters and their seeded initialisation.
 *
 * Initial values are drawn in JavaScript from {@link Rng} rather than with tfjs's random
 * ops so that the same seed gives bit-identical weights on every backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Variable } from "../util/tensor_types.ts";
import type { Rng } from "../util/rng.ts";

/** Parameters by name, e.g. `h.0.attn.wqkv`. Owned by the model; dispose with {@link disposeParams}. */
export type Params = Map<string, Variable>;

/** N(0, std²) values of `shape`, from `rng`. */
export function normalValues(rng: Rng, shape: number[], std: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  return out;
}

/** A trainable variable with the given values. */
export function variable(name: string, values: Float32Array, shape: number[]): Variable {
  return ownedVariable(tf.tensor(values, shape, "float32"), true, name);
}

/** A variable initialised from `init`, which is disposed (the variable holds its own copy). */
export function ownedVariable(init: Tensor, trainable: boolean, name?: string): Variable {
  const v = tf.variable(init, trainable, name ? uniqueName(name) : undefined);
  init.dispose();
  return v;
}

let counter = 0;
/** tfjs variable names are global; suffix them so two models can coexist. */
function uniqueName(name: string): string {
  return `${name}#${counter++}`;
}

/** Dispose every parameter in `params`. */
export function disposeParams(params: Params): void {
  for (const v of params.values()) v.dispose();
  params.clear();
}

/** Copy values of `src` into new variables (a frozen copy when `trainable` is false). */
export function cloneParams(src: Params, trainable = true): Params {
  const out: Params = new Map();
  for (const [name, v] of src) {
    out.set(name, ownedVariable(v.clone(), trainable, name));
  }
  return out;
}

/** Total number of scalar parameters. */
export function countParams(params: Params): number {
  let n = 0;
  for (const v of params.values()) n += v.size;
  return n;
}
