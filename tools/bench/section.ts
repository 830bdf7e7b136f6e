/**
 * What a benchmark section is: the environment it runs in, the figures it returns, and
 * how many repetitions it takes. Every section module imports this file and nothing
 * imports the section modules but the registry (`sections.ts`), so there is no cycle.
 *
 * @module
 */
import type { BackendInfo } from "../../lib/backend/mod.ts";
import type { ModelConfig } from "../../lib/models/config.ts";
import type { KernelRow, MeasureOptions, Summary } from "./timing.ts";
import type { Workload } from "./workloads.ts";

/** What a section runs with. */
export interface BenchEnv {
  /** The active backend. */
  info: BackendInfo;
  /** The model's shape. */
  model: ModelConfig;
  /** Workload sizes. */
  workload: Workload;
  /** Few repetitions: a smoke run, not a measurement. */
  quick: boolean;
  /** Also total kernel times by kernel (GPU time on webgpu, from timestamp queries). */
  profile: boolean;
  /** Progress messages. */
  log: (message: string) => void;
}

/** One measured figure. */
export interface BenchFigure {
  /** Stable id, `<section>` or `<section>/<variant>`, e.g. `sample/no-cache`. */
  id: string;
  /** What was timed, in words. */
  label: string;
  /** Tokens per iteration divided by the median iteration time. */
  tokensPerSecond: number;
  /** Tokens one iteration processes (trained on, or newly sampled). */
  tokensPerIteration: number;
  /** Iteration times in milliseconds. */
  ms: Summary;
  /** Floating-point operations of one iteration (see flops.ts), where counted. */
  flopsPerIteration?: number;
  /** What to compare it with, in words (other figures, speedups). */
  compare?: string;
  /** Median milliseconds per phase of an iteration, when the section splits it. */
  phases?: Record<string, number>;
  /** Kernel time totals over one profiled iteration (with `profile`). */
  kernels?: KernelRow[];
  /** Numbers that are not times (ratios, settings). */
  extra?: Record<string, number | string | boolean>;
}

/** A named part of the benchmark. */
export interface BenchSection {
  /** Name for `--sections`. */
  name: string;
  /** One line for `--help`. */
  describe: string;
  /** Backends it applies to; all when absent. */
  backends?: readonly string[];
  /** Time the workload; dispose every tensor it makes. */
  run(env: BenchEnv): Promise<BenchFigure[]>;
}

/**
 * Repetitions of a timed loop: `normal` timed runs after 3 warm-ups; a smoke run with
 * `quick`; a quarter (at least 2) on the slow cpu backend.
 */
export function repetitions(env: BenchEnv, normal: number): Required<MeasureOptions> {
  if (env.quick) return { warmup: 1, repeats: 2 };
  if (env.info.backend === "cpu") return { warmup: 1, repeats: Math.max(2, normal >> 2) };
  return { warmup: 3, repeats: normal };
}
