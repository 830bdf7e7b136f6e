/**
 * Resources a sweep needs, checked before any work: the memory a model config takes to
 * train, against the machine's memory, and a results directory it can write.
 *
 * The memory figure is a **lower bound** (float32, 4 bytes a number), so a config it
 * refuses cannot run, and a config it passes may still be too big:
 *
 *   parameters   P = V·D (token embedding, tied to the output head) + T·D (positions)
 *                    + L·(4 + 2m)·D² (attention q, k, v, o and the MLP's two matrices)
 *   weights      (4 + n)·P: the trained model's weights, its gradients, AdamW's first and
 *                second moments (Loshchilov & Hutter 2019), and n frozen copies beside it
 *                (the reference policy)
 *   activations  L·(2·B·H·T² + (4 + m)·B·T·D) + 2·B·T·V: per block the attention scores
 *                and their softmax, the residual stream, q, k, v and the MLP's hidden
 *                layer kept for the backward pass; the logits and their log-softmax
 *
 * with V the vocabulary, D the width, L the blocks, H the heads, m the MLP ratio, T the
 * context, B the batch.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { KitError, resourceError } from "../util/errors.ts";

/** The model shape the estimate reads (a `ModelConfig`). */
export interface ModelShape {
  /** Vocabulary V. */
  vocabSize: number;
  /** Width D. */
  dModel: number;
  /** Blocks L. */
  nLayers: number;
  /** Heads H. */
  nHeads: number;
  /** Context T. */
  context: number;
  /** MLP ratio m. */
  mlpRatio: number;
}

/** A training memory estimate (numbers, not bytes: each takes 4 bytes in float32). */
export interface MemoryEstimate {
  /** Parameters P of one model. */
  params: number;
  /** Numbers held for weights, gradients, optimiser state and frozen copies. */
  weights: number;
  /** Numbers held for activations at the batch. */
  activations: number;
  /** Lower bound of the bytes training needs: 4 · (weights + activations). */
  bytes: number;
}

/**
 * The lower bound of the memory that training a model of `shape` at `batch` takes (see
 * the module doc for the formula).
 * @param shape the model.
 * @param batch sequences per training step (B).
 * @param frozenCopies frozen models beside the trained one (a reference policy: 1).
 * @example
 * ```ts
 * import { trainingMemory } from "./resources.ts";
 * const m = trainingMemory(
 *   { vocabSize: 100, dModel: 8, nLayers: 1, nHeads: 2, context: 4, mlpRatio: 4 }, 2, 0);
 * // P = 100·8 + 4·8 + 1·12·64 = 1600
 * if (m.params !== 1600) throw new Error(String(m.params));
 * ```
 */
export function trainingMemory(
  shape: ModelShape,
  batch: number,
  frozenCopies = 1,
): MemoryEstimate {
  const { vocabSize: v, dModel: d, nLayers: l, nHeads: h, context: t, mlpRatio: m } = shape;
  const params = v * d + t * d + l * (4 + 2 * m) * d * d;
  const weights = (4 + frozenCopies) * params;
  const activations = l * (2 * batch * h * t * t + (4 + m) * batch * t * d) +
    2 * batch * t * v;
  return { params, weights, activations, bytes: 4 * (weights + activations) };
}

/** The machine's total memory in bytes, or undefined where Deno may not read it. */
export function machineMemory(): number | undefined {
  try {
    return Deno.systemMemoryInfo().total;
  } catch {
    return undefined;
  }
}

/** Bytes as a short human figure: `1.2 TB`, `25.3 GB`, `512.0 MB`. */
export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/**
 * Refuse a model that cannot fit: its training memory estimate (a lower bound) exceeds
 * the machine's memory.
 * @param what what is estimated, for the message (e.g. `the canonical model
 *   (--model.dModel 100000 …) at batch 8`).
 * @param estimate from {@link trainingMemory}.
 * @param total the machine's memory (default {@link machineMemory}; unknown: no check).
 * @throws KitError with the estimate and the machine's memory.
 */
export function checkMemory(
  what: string,
  estimate: MemoryEstimate,
  total: number | undefined = machineMemory(),
): void {
  if (total === undefined || estimate.bytes <= total) return;
  throw new KitError(
    `${what} needs at least ${formatBytes(estimate.bytes)} of memory to train ` +
      `(${estimate.params.toExponential(2)} parameters; activations ` +
      `${formatBytes(4 * estimate.activations)}), but this machine has ${formatBytes(total)}`,
  );
}

/**
 * Check, by writing and removing a probe file, that `dir` can be written, so a read-only
 * or full results directory fails at start, not after hours. Nothing is created: the probe
 * goes into `dir` if it exists, else into its nearest existing parent (where `dir` would
 * be made).
 * @throws ResourceError naming the directory (read-only, full, denied, a file in the way).
 */
export async function checkWritable(dir: string): Promise<void> {
  let at = dir;
  for (;;) {
    const st = await Deno.stat(at).catch(() => undefined);
    if (st) {
      if (!st.isDirectory) {
        throw resourceError(
          Object.assign(new Error(`Not a directory (os error 20): mkdir '${dir}'`), {
            code: "ENOTDIR",
          }),
          dir,
        )!;
      }
      break;
    }
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  const probe = join(at, `.write-probe-${Deno.pid}`);
  try {
    await Deno.writeFile(probe, new Uint8Array(1));
    await Deno.remove(probe);
  } catch (e) {
    await Deno.remove(probe).catch(() => {});
    throw resourceError(e, dir) ?? e;
  }
}
