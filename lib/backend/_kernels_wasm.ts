/**
 * Kernel bodies for the wasm backend that work on views of its heap, for the overrides of
 * `kernels.ts`. tfjs-backend-wasm keeps every tensor in the wasm heap; these functions
 * read and write there directly instead of copying a whole tensor out (its `Slice` does)
 * or going through its generic transpose (slow on the [B·T, D] matrices of training,
 * whose 1024-float rows alias in the cache).
 *
 * Each returns a new output `TensorInfo` that the calling kernel hands to the engine, or
 * `undefined` where the stock kernel must do the job.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A tensor as a kernel sees it (tfjs's `TensorInfo`). */
export interface Info {
  dataId: object;
  shape: number[];
  dtype: tf.DataType;
}

/** The parts of the wasm backend these bodies touch. */
export interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(t: Info): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object): boolean;
}

/** Product of a shape's entries. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Tile edge of the blocked transpose: 8 rows keeps 1024-float strides from thrashing L1. */
const TILE = 8;

/**
 * Swap the last two axes of a tensor whose leading axes have size 1 (a matrix), as a
 * blocked copy between heap views.
 * @returns the transposed tensor [.., C, R]; the caller disposes it with `disposeData`.
 */
export function transposeMatrix(backend: WasmHeapBackend, x: Info): Info {
  const rank = x.shape.length;
  const r = x.shape[rank - 2]!, c = x.shape[rank - 1]!;
  const shape = [...x.shape];
  shape[rank - 2] = c;
  shape[rank - 1] = r;
  const out = backend.makeOutput(shape, x.dtype); // may grow the heap: take views after this
  const src = backend.typedArrayFromHeap(x), dst = backend.typedArrayFromHeap(out);
  for (let i0 = 0; i0 < r; i0 += TILE) {
    const i1 = Math.min(i0 + TILE, r);
    for (let j0 = 0; j0 < c; j0 += TILE) {
      const j1 = Math.min(j0 + TILE, c);
      for (let i = i0; i < i1; i++) {
        const row = i * c;
        for (let j = j0; j < j1; j++) dst[j * r + i] = src[row + j]!;
      }
    }
  }
  return out;
}

/**
 * Copy `x[begin : begin + size]` into a new output, reading the input through a heap view
 * (the stock kernel first copies all of `x` out of the heap).
 * @returns the slice, or `undefined` for strings and ranks above 4.
 */
export function sliceFromHeap(
  backend: WasmHeapBackend,
  x: Info,
  begin: readonly number[],
  size: readonly number[],
): Info | undefined {
  const rank = x.shape.length;
  if (x.dtype === "string" || rank === 0 || rank > 4) return undefined;
  const out = backend.makeOutput([...size], x.dtype); // may grow the heap: views after this
  const n = sizeOf(size);
  if (n === 0) return out;
  const src = backend.typedArrayFromHeap(x), dst = backend.typedArrayFromHeap(out);
  const strides = tf.util.computeStrides(x.shape); // rank − 1 entries
  if (tf.slice_util.isSliceContinous(x.shape, [...begin], [...size])) {
    const offset = tf.slice_util.computeFlatOffset([...begin], strides);
    dst.set(src.subarray(offset, offset + n));
    return out;
  }
  // Copy runs along the last axis; the leading axes are padded to three.
  const lead = [1, 1, 1], from = [0, 0, 0], step = [0, 0, 0];
  for (let a = 0; a < rank - 1; a++) {
    const k = 3 - (rank - 1) + a;
    lead[k] = size[a]!;
    from[k] = begin[a]!;
    step[k] = strides[a]!;
  }
  const run = size[rank - 1]!, start = begin[rank - 1]!;
  let o = 0;
  for (let i = 0; i < lead[0]!; i++) {
    for (let j = 0; j < lead[1]!; j++) {
      for (let k = 0; k < lead[2]!; k++) {
        const off = (from[0]! + i) * step[0]! + (from[1]! + j) * step[1]! +
          (from[2]! + k) * step[2]! + start;
        dst.set(src.subarray(off, off + run), o);
        o += run;
      }
    }
  }
  return out;
}

/**
 * The reduction a `Sum` over leading axes amounts to: rows R (the reduced leading axes)
 * and columns C (the rest), or `undefined` when the axes are not a leading run.
 */
export function leadingReduction(
  shape: readonly number[],
  axes: readonly number[],
): { rows: number; cols: number } | undefined {
  const sorted = [...axes].sort((p, q) => p - q);
  if (sorted.length === 0 || sorted.length >= shape.length) return undefined;
  if (sorted.some((a, i) => a !== i)) return undefined;
  return { rows: sizeOf(shape.slice(0, sorted.length)), cols: sizeOf(shape.slice(sorted.length)) };
}

/** A [1, R] row of ones in the heap; the caller disposes it with `disposeData`. */
export function onesRow(backend: WasmHeapBackend, r: number): Info {
  const ones = backend.makeOutput([1, r], "float32");
  backend.typedArrayFromHeap(ones).fill(1);
  return ones;
}

/** A copy of `x` with `shape` (same size) in a fresh buffer; the caller disposes it. */
export function copyOf(backend: WasmHeapBackend, x: Info, shape: number[]): Info {
  const out = backend.makeOutput(shape, x.dtype); // may grow the heap: take views after this
  backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(x));
  return out;
}
