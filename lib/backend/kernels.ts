/**
 * Kernel overrides that make the model fast on the wasm and webgpu backends without
 * changing a result (beyond float rounding), installed by `initBackend`.
 *
 * wasm (tfjs-backend-wasm 4.22):
 * - `BatchMatMul` / `_FusedMatMul`: XNNPACK takes a product only when neither operand is
 *   transposed and both batch sizes are 1; everything else runs a naive loop 10–30×
 *   slower. Back-propagation is made of exactly those products (dX = dY·Wᵀ, dW = Xᵀ·dY),
 *   and so is the tied output projection h·Wteᵀ: on the reference model the naive loop
 *   took ~75% of a training step. The override transposes the operand first (a blocked
 *   copy, see `_kernels_wasm.ts`), computes Xᵀ·dY as (dYᵀ·X)ᵀ when that moves fewer
 *   elements, and folds a batched left operand against one right matrix into its rows.
 *   Products of two batched operands (attention's q·kᵀ, p·v) keep the stock kernel.
 * - `Slice` / `SplitV`: the stock kernels copy the whole input out of the heap per slice;
 *   the overrides copy only the slice.
 * - `Sum` over leading axes (every bias and LayerNorm gradient): the stock kernel
 *   transposes first, slowly; the override is a ones-row product on XNNPACK.
 *
 * webgpu (tfjs-backend-webgpu 4.22):
 * - `BatchMatMul` / `_FusedMatMul`: the same rewrite, with the backend's `Transpose`; on
 *   llvmpipe transposed products take 2–3× the time of untransposed ones of equal size.
 * - `AddN`: a fix, not a speed-up. One shader binds every input, but the device is
 *   requested with WebGPU's default of 8 storage buffers per stage, so with 8 or more
 *   inputs the pipeline is invalid and the result silently holds part of the sum (AdamW's
 *   global gradient norm is such a sum). The override adds in groups that fit.
 *
 * {@link setFastKernels}(false) routes every call to the stock kernel (the "plain" path
 * for tests and the benchmark), except the AddN fix, which is about correctness.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "../util/tensor_types.ts";
import {
  copyOf,
  type Info,
  leadingReduction,
  onesRow,
  sizeOf,
  sliceFromHeap,
  transposeMatrix,
  type WasmHeapBackend,
} from "./_kernels_wasm.ts";

/** The parts of a backend a kernel wrapper touches. */
interface BackendLike {
  disposeData(dataId: object): boolean;
}

type KernelArgs = {
  inputs: Record<string, Info | undefined>;
  backend: BackendLike;
  attrs: Record<string, unknown>;
};
type KernelFn = (args: KernelArgs) => Info;

/** Backends with kernel overrides. */
export type FastKernelBackend = "wasm" | "webgpu";

let enabled = true;
const installed = new Set<string>();

/**
 * Switch the speed overrides on or off on every backend they are installed on (on once
 * {@link installFastKernels} ran). Off runs tfjs's own kernels: the plain path, for
 * comparisons in tests and the benchmark.
 * @returns the previous setting.
 */
export function setFastKernels(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/** Whether `backend` runs the overrides (installed there and switched on). */
export function fastKernels(backend: FastKernelBackend): boolean {
  return installed.has(backend) && enabled;
}

/** Replace a registered kernel by `make(stock)`; false when it is not registered. */
function override(
  name: string,
  backend: FastKernelBackend,
  make: (stock: KernelFn) => KernelFn,
): boolean {
  const config = tf.getKernel(name, backend);
  if (!config) return false;
  const kernelFunc = make(config.kernelFunc as unknown as KernelFn);
  tf.unregisterKernel(name, backend);
  tf.registerKernel({ ...config, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  return true;
}

/**
 * Register the overrides of `backend` (see the module doc). Idempotent; a no-op for
 * kernels the backend does not register. Called by `initBackend`.
 */
export function installFastKernels(backend: FastKernelBackend): void {
  if (installed.has(backend)) return;
  installed.add(backend);
  const swap = backend === "wasm" ? wasmSwap : webgpuSwap();
  if (!swap) return;
  for (const name of ["BatchMatMul", "_FusedMatMul"]) {
    override(
      name,
      backend,
      (stock) => (args) => enabled ? rewrittenMatMul(args, stock, swap) : stock(args),
    );
  }
  if (backend === "webgpu") {
    override("AddN", backend, (stock) => (args) => groupedAddN(args, stock));
    return;
  }
  override("Slice", backend, (stock) => (args) => (enabled && wasmSlice(args)) || stock(args));
  override("SplitV", backend, (stock) => (args) =>
    // SplitV returns a list; the wrapper type is per kernel output, so cast through it.
    ((enabled && wasmSplit(args)) || stock(args)) as unknown as Info);
  const matMul = tf.getKernel("BatchMatMul", backend)!.kernelFunc as unknown as KernelFn;
  override(
    "Sum",
    backend,
    (stock) => (args) => (enabled && wasmLeadingSum(args, matMul)) || stock(args),
  );
}

/** Swaps the last two axes of a matrix-shaped operand; the result is a temporary. */
type Swap = (x: Info, backend: BackendLike) => Info;

const wasmSwap: Swap = (x, backend) => transposeMatrix(backend as unknown as WasmHeapBackend, x);

function webgpuSwap(): Swap | undefined {
  const transpose = tf.getKernel("Transpose", "webgpu")?.kernelFunc as KernelFn | undefined;
  if (!transpose) return undefined;
  return (x, backend) => {
    const r = x.shape.length;
    const perm = Array.from({ length: r }, (_, i) => i);
    perm[r - 2] = r - 1;
    perm[r - 1] = r - 2;
    return transpose({ inputs: { x }, backend, attrs: { perm } });
  };
}

/**
 * Run `stock` on operands rearranged into the fast form: no transpose flags, batch 1 on
 * both sides. Falls through to `stock` unchanged when it cannot.
 */
function rewrittenMatMul(args: KernelArgs, stock: KernelFn, swap: Swap): Info {
  const { inputs, backend, attrs } = args;
  let a = inputs.a!, b = inputs.b!;
  const ta = attrs.transposeA === true, tb = attrs.transposeB === true;
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const batchA = sizeOf(outerA), batchB = sizeOf(outerB);
  if (batchB !== 1 || a.dtype !== "float32" || b.dtype !== "float32") return stock(args);
  if (batchA !== 1 && ta) return stock(args); // would need a batched transpose
  const m = a.shape[a.shape.length - (ta ? 1 : 2)]!, k = a.shape[a.shape.length - (ta ? 2 : 1)]!;
  const n = b.shape[b.shape.length - (tb ? 2 : 1)]!;
  const outShape = [...tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB), m, n];
  const plainProduct = (x: Info, y: Info, rows: number, inner: number, cols: number) =>
    stock({
      inputs: {
        ...inputs,
        a: { ...x, shape: [1, rows, inner] },
        b: { ...y, shape: [1, inner, cols] },
      },
      backend,
      attrs: { ...attrs, transposeA: false, transposeB: false },
    });
  const temps: Info[] = [];
  const swapped = (x: Info) => {
    const y = swap(x, backend);
    temps.push(y);
    return y;
  };
  try {
    // aᵀ·b with a [K, M] can run as (bᵀ·a)ᵀ: it transposes b and the [M, N] result instead
    // of a, and XNNPACK packs a instead of b (packing costs about a third of a transpose).
    const plainOutput = !inputs.bias && !inputs.preluActivationWeights &&
      (attrs.activation ?? "linear") === "linear";
    const direct = k * m + (tb ? k * n : 0);
    const flipped = (tb ? 0 : k * n) + m * n + 0.3 * (k * m - k * n);
    if (ta && plainOutput && flipped < direct) {
      const bt = tb ? b : swapped(b); // [N, K]
      const ct = plainProduct(bt, a, n, k, m); // [1, N, M]
      temps.push(ct);
      const c = swap({ ...ct, shape: [n, m] }, backend); // [M, N]
      c.shape = outShape;
      return c;
    }
    if (ta) a = swapped(a); // [M, K]
    if (tb) b = swapped(b); // [K, N]
    // A batched left operand against one right matrix is one tall product: [batch·M, K].
    const out = plainProduct(a, b, batchA * m, k, n);
    out.shape = outShape;
    return out;
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/** wasm `Slice` from a heap view. */
function wasmSlice(args: KernelArgs): Info | undefined {
  const x = args.inputs.x!;
  const [begin, size] = tf.slice_util.parseSliceParams(
    x as unknown as tf.TensorInfo,
    args.attrs.begin as number[],
    args.attrs.size as number[],
  ) as [number[], number[]];
  return sliceFromHeap(args.backend as unknown as WasmHeapBackend, x, begin, size);
}

/** wasm `SplitV` as slices from heap views. */
function wasmSplit(args: KernelArgs): Info[] | undefined {
  const x = args.inputs.x!;
  if (x.dtype === "string" || x.shape.length === 0 || x.shape.length > 4) return undefined;
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(
    x as unknown as Tensor,
    args.attrs.numOrSizeSplits as number | number[],
    axis,
  );
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = [...x.shape];
    size[axis] = s;
    const part = sliceFromHeap(args.backend as unknown as WasmHeapBackend, x, begin, size)!;
    begin[axis]! += s;
    return part;
  });
}

/** wasm `Sum` over leading axes as ones[1, R] · x[R, C] on XNNPACK. */
function wasmLeadingSum(args: KernelArgs, matMul: KernelFn): Info | undefined {
  const x = args.inputs.x!;
  if (x.dtype !== "float32") return undefined;
  const axes = tf.util.parseAxisParam(args.attrs.axis as number | number[], x.shape);
  const red = leadingReduction(x.shape, axes);
  if (!red) return undefined;
  const backend = args.backend as unknown as WasmHeapBackend;
  // XNNPACK operators are cached by the weights' tensor id, not their shape: x viewed as
  // [R, C] here may be viewed otherwise elsewhere, so the weights are a fresh copy of x.
  const weights = copyOf(backend, x, [red.rows, red.cols]);
  const ones = onesRow(backend, red.rows);
  try {
    const out = matMul({
      inputs: {
        a: { ...ones, shape: [1, 1, red.rows] },
        b: { ...weights, shape: [1, red.rows, red.cols] },
      },
      backend,
      attrs: { transposeA: false, transposeB: false },
    });
    out.shape = args.attrs.keepDims
      ? x.shape.map((s, i) => (axes.includes(i) ? 1 : s))
      : x.shape.slice(axes.length);
    return out;
  } finally {
    backend.disposeData(ones.dataId);
    backend.disposeData(weights.dataId);
  }
}

/** The storage buffers one WebGPU shader may bind (WebGPU's default is 8). */
function storageBufferLimit(backend: BackendLike): number {
  const device = (backend as { device?: { limits?: { maxStorageBuffersPerShaderStage?: number } } })
    .device;
  return device?.limits?.maxStorageBuffersPerShaderStage ?? 8;
}

/** webgpu `AddN` in groups that fit one shader's bindings, then over the partial sums. */
function groupedAddN(args: KernelArgs, stock: KernelFn): Info {
  const { backend } = args;
  let xs = Object.values(args.inputs) as Info[]; // AddN's "map" of inputs is an array
  const run = (group: Info[]) =>
    stock({ ...args, inputs: group as unknown as KernelArgs["inputs"] });
  const group = Math.max(2, storageBufferLimit(backend) - 1); // one binding is the output
  if (xs.length <= group) return stock(args);
  const temps: Info[] = [];
  try {
    while (xs.length > group) {
      const sums: Info[] = [];
      for (let i = 0; i < xs.length; i += group) {
        const part = xs.slice(i, i + group);
        if (part.length === 1) {
          sums.push(part[0]!);
          continue;
        }
        const s = run(part);
        temps.push(s);
        sums.push(s);
      }
      xs = sums;
    }
    return run(xs);
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}
