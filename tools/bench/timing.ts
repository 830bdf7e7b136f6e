/**
 * Timing helpers for the benchmark: repeated wall-clock measurements summarised by their
 * median (robust to the other processes of a shared machine), the machine's load average
 * (what `uptime` prints), and per-kernel totals from `tf.profile`.
 *
 * @example
 * ```ts
 * import { measure } from "./timing.ts";
 * const s = await measure(() => new Promise((r) => setTimeout(r, 1)), { warmup: 1, repeats: 3 });
 * if (s.n !== 3 || !(s.median > 0)) throw new Error("bad summary");
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A set of timings in milliseconds and their order statistics. */
export interface Summary {
  /** Number of timed repetitions. */
  n: number;
  /** Median (the figure reported). */
  median: number;
  /** Fastest. */
  min: number;
  /** Slowest. */
  max: number;
  /** Lower and upper quartiles. */
  q25: number;
  /** Upper quartile. */
  q75: number;
  /** Every timing, in the order taken. */
  samples: number[];
}

/** How many untimed and timed repetitions to run. */
export interface MeasureOptions {
  /** Untimed runs first (compilation, caches, lazily created constants). Default 1. */
  warmup?: number;
  /** Timed runs (≥ 1). Default 5. */
  repeats?: number;
}

/** The q-quantile (0 ≤ q ≤ 1) of sorted values, interpolated linearly. */
function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Order statistics of `samples` (milliseconds).
 * @throws RangeError on an empty list.
 */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError("summarize() needs at least one sample");
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: quantile(sorted, 0.5),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    q25: quantile(sorted, 0.25),
    q75: quantile(sorted, 0.75),
    samples: [...samples],
  };
}

/**
 * Time `fn` (awaited) `repeats` times after `warmup` untimed runs. `fn` must finish its
 * device work before it resolves (read a result back on asynchronous backends).
 */
export async function measure(
  fn: () => Promise<unknown> | unknown,
  opts: MeasureOptions = {},
): Promise<Summary> {
  const warmup = opts.warmup ?? 1, repeats = opts.repeats ?? 5;
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw new RangeError(`repeats must be an integer >= 1, got ${repeats}`);
  }
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return summarize(samples);
}

/** The 1, 5 and 15 minute load averages (as `uptime`), or undefined where unknown. */
export function loadAverage(): [number, number, number] | undefined {
  try {
    const [a = 0, b = 0, c = 0] = Deno.loadavg(); // needs --allow-sys; zeros on Windows
    return a === 0 && b === 0 && c === 0 ? undefined : [a, b, c];
  } catch {
    return undefined;
  }
}

/** Time spent in one kernel over a profiled run. */
export interface KernelRow {
  /** tfjs kernel name, e.g. `BatchMatMul`. */
  kernel: string;
  /** Total milliseconds over the run. */
  ms: number;
  /** Number of calls. */
  calls: number;
}

/**
 * Run `fn` once under `tf.profile` and total kernel time by kernel name, largest first.
 * On wasm and cpu the times are wall-clock around each (synchronous) kernel; on webgpu
 * they are GPU time from timestamp queries, and empty where the adapter has none. Op
 * scopes (`unnamed scope`, `*__op`) are left out so nothing is counted twice.
 */
export async function profileKernels(fn: () => Promise<unknown>): Promise<KernelRow[]> {
  const info = await tf.profile(async () => {
    await fn();
  });
  const rows = new Map<string, KernelRow>();
  for (const k of info.kernels) {
    if (k.name.startsWith("unnamed") || k.name.endsWith("__op")) continue; // op scopes
    const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : NaN;
    if (!Number.isFinite(ms)) continue;
    const row = rows.get(k.name) ?? { kernel: k.name, ms: 0, calls: 0 };
    row.ms += ms;
    row.calls++;
    rows.set(k.name, row);
  }
  return [...rows.values()].sort((a, b) => b.ms - a.ms);
}
