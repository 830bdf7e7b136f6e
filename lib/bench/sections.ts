/**
 * The benchmark as named sections, each timing one workload on the active backend and
 * returning figures in tokens per second. `experiments/bench.ts` runs them once per
 * backend and writes `results/bench/bench.json`.
 *
 * Sections so far:
 * - `train`: one SFT step (forward + backward + AdamW) on a [B, T] batch, with the time
 *   split into forward, backward and optimiser phases;
 * - `train-stock`: the same step on tfjs's own kernels, without the overrides of
 *   `models/kernels.ts` (wasm and webgpu), to show what they buy;
 * - `sample`: batched sampling with the KV cache, and the no-cache baseline that
 *   recomputes the whole prefix at every step.
 *
 * To add one (a PPO iteration, a DPO step), write a {@link BenchSection} whose `run`
 * returns {@link BenchFigure}s (use `phases` for a timing breakdown) and append it to
 * {@link BENCH_SECTIONS}; the CLI, the printout and the JSON pick it up by name.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendInfo } from "../backend/mod.ts";
import type { ModelConfig } from "../models/config.ts";
import { CausalLM } from "../models/causal_lm.ts";
import { fastKernels, setFastKernels } from "../backend/mod.ts";
import { AdamW, optimiserStep } from "../train/adamw.ts";
import { sftLoss } from "../losses/sft.ts";
import { Rng } from "../util/rng.ts";
import { BOS_ID } from "../data/special_tokens.ts";
import { type KernelRow, measure, profileKernels, summarize, type Summary } from "./timing.ts";
import { sampleNoCache } from "./nocache_sampling.ts";
import { dpoSection, ppoSection } from "./rlhf_sections.ts";

/** Sizes of the benchmark workloads. */
export interface Workload {
  /** Training batch B. */
  trainBatch: number;
  /** Training sequence length T (tokens per row, all real). */
  trainLength: number;
  /** Sampling batch. */
  sampleBatch: number;
  /** Prompt length, BOS included. */
  promptLength: number;
  /** New tokens per row (no early stop). */
  newTokens: number;
}

/** The reference workload: batch 32 × 32 tokens; sampling 64 rows, 8-token prompts, 16 new. */
export const REFERENCE_WORKLOAD: Workload = {
  trainBatch: 32,
  trainLength: 32,
  sampleBatch: 64,
  promptLength: 8,
  newTokens: 16,
};

/** Figures to compare against, in tokens per second, measured on the 2-core dev machine. */
export const BASELINES = {
  /** The same model and workload in PyTorch on the CPU. */
  pytorchCpu: { train: 1400, sample: 2400 },
  /** The model written plainly in tfjs on the wasm backend, before any tuning. */
  tfjsWasmStraightforward: { train: 480 },
} as const;

/** What a section runs with. */
export interface BenchEnv {
  /** The active backend. */
  info: BackendInfo;
  model: ModelConfig;
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
  /** What to compare it with, in words (baselines, speedups). */
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
  name: string;
  /** One line for `--help`. */
  describe: string;
  /** Backends it applies to; all when absent. */
  backends?: readonly string[];
  /** Time the workload; dispose every tensor it makes. */
  run(env: BenchEnv): Promise<BenchFigure[]>;
}

/** Repetitions: a measurement normally, a smoke run with `quick`, fewer on the slow cpu. */
function reps(env: BenchEnv, normal: number): { warmup: number; repeats: number } {
  if (env.quick) return { warmup: 1, repeats: 2 };
  if (env.info.backend === "cpu") return { warmup: 1, repeats: Math.max(2, normal >> 2) };
  return { warmup: 3, repeats: normal };
}

const fmt = (x: number) => Math.round(x).toLocaleString("en-US");

/** Random training tokens [B, T+1] in the non-special range, all real. */
function trainBatch(env: BenchEnv): { tokens: tf.Tensor2D; mask: tf.Tensor2D } {
  const { trainBatch: b, trainLength: t } = env.workload;
  const v = env.model.vocabSize;
  const rng = new Rng(1);
  const ids = new Int32Array(b * (t + 1));
  for (let i = 0; i < ids.length; i++) ids[i] = 4 + rng.int(v - 4);
  return { tokens: tf.tensor2d(ids, [b, t + 1], "int32"), mask: tf.ones([b, t]) };
}

/** Prompts of the sampling workload: BOS then random non-special tokens. */
function samplePrompts(env: BenchEnv): number[][] {
  const { sampleBatch: b, promptLength: p } = env.workload;
  const v = env.model.vocabSize;
  const rng = new Rng(2);
  return Array.from(
    { length: b },
    () => [BOS_ID, ...Array.from({ length: p - 1 }, () => 4 + rng.int(v - 4))],
  );
}

/**
 * Time a full training step. With `phases`, each round also times the forward pass alone,
 * forward + backward, and the AdamW update alone (on the gradients of that round), so the
 * phases share the machine's load of the moment; backward is (forward + backward) − forward.
 */
async function timeTraining(
  env: BenchEnv,
  phases: boolean,
  repeats = 15,
): Promise<Omit<BenchFigure, "id" | "label">> {
  const lm = CausalLM.create(env.model, 0);
  const opt = new AdamW(lm.params, { weightDecay: 0.01, gradClip: 1 });
  const { tokens, mask } = trainBatch(env);
  const lossFn = () => sftLoss(lm.tokenLogProbs(tokens, { training: true }), mask);
  const vars = [...lm.params.values()];
  const wpe = lm.params.get("wpe")!;
  const lr = 1e-4;
  const step = async () => {
    const { loss, gradNorm } = optimiserStep(opt, lossFn, lr);
    await loss.data();
    tf.dispose([loss, gradNorm]);
  };
  const forward = async () => {
    const loss = tf.tidy(lossFn);
    await loss.data();
    loss.dispose();
  };
  const forwardBackward = async () => {
    const { value, grads } = tf.variableGrads(lossFn, vars);
    // The position table's gradient is among the last the backward pass finishes.
    await Promise.all([value.data(), grads[wpe.name]!.data()]);
    value.dispose();
    return grads;
  };
  const optimizer = async (grads: tf.NamedTensorMap) => {
    const norm = opt.apply(grads, lr);
    await Promise.all([norm.data(), vars[vars.length - 1]!.data()]);
    norm.dispose();
  };
  try {
    const r = reps(env, repeats);
    const tokensPerIteration = env.workload.trainBatch * env.workload.trainLength;
    let ms: Summary;
    let phaseMs: Record<string, number> | undefined;
    if (!phases) {
      ms = await measure(step, r);
    } else {
      const t: Record<"step" | "forward" | "forwardBackward" | "optimizer", number[]> = {
        step: [],
        forward: [],
        forwardBackward: [],
        optimizer: [],
      };
      const time = async <T>(key: keyof typeof t | undefined, f: () => Promise<T>) => {
        const t0 = performance.now();
        const out = await f();
        if (key) t[key].push(performance.now() - t0);
        return out;
      };
      for (let i = 0; i < r.warmup + r.repeats; i++) {
        const timed = i >= r.warmup;
        await time(timed ? "step" : undefined, step);
        await time(timed ? "forward" : undefined, forward);
        const grads = await time(timed ? "forwardBackward" : undefined, forwardBackward);
        await time(timed ? "optimizer" : undefined, () => optimizer(grads));
        tf.dispose(Object.values(grads));
      }
      ms = summarize(t.step);
      const med = (k: keyof typeof t) => summarize(t[k]).median;
      phaseMs = {
        forward: med("forward"),
        backward: Math.max(0, med("forwardBackward") - med("forward")),
        optimizer: med("optimizer"),
      };
    }
    const out: Omit<BenchFigure, "id" | "label"> = {
      tokensPerSecond: tokensPerIteration / (ms.median / 1000),
      tokensPerIteration,
      ms,
      phases: phaseMs,
    };
    if (env.profile) out.kernels = await profileKernels(step);
    return out;
  } finally {
    tf.dispose([tokens, mask]);
    opt.dispose();
    lm.dispose();
  }
}

/** `train`: forward + backward + AdamW, with its phases. */
const trainSection: BenchSection = {
  name: "train",
  describe: "SFT step (forward + backward + AdamW), split into phases",
  async run(env) {
    const { trainBatch: b, trainLength: t } = env.workload;
    const f = await timeTraining(env, true);
    const base = BASELINES;
    return [{
      id: "train",
      label: `training step, batch ${b} × ${t} tokens (forward + backward + AdamW)`,
      ...f,
      compare: `PyTorch CPU ≈${fmt(base.pytorchCpu.train)}, straightforward tfjs-wasm ≈${
        fmt(base.tfjsWasmStraightforward.train)
      } tokens/s`,
      extra: {
        fastKernels: env.info.backend === "wasm" || env.info.backend === "webgpu"
          ? fastKernels(env.info.backend)
          : false,
      },
    }];
  },
};

/** `train-stock`: the training step on tfjs's own kernels (overrides switched off). */
const trainStockSection: BenchSection = {
  name: "train-stock",
  describe: "the same step on the stock tfjs kernels (wasm, webgpu)",
  backends: ["wasm", "webgpu"],
  async run(env) {
    const was = setFastKernels(false);
    try {
      const f = await timeTraining({ ...env, profile: false }, false, 5); // ~4× slower
      return [{
        id: "train-stock",
        label: "training step on the stock tfjs kernels (no overrides)",
        ...f,
        compare: "`train`, which runs the overrides of lib/models/kernels.ts",
      }];
    } finally {
      setFastKernels(was);
    }
  },
};

/** `sample`: KV-cache sampling and the recompute-the-prefix baseline. */
const sampleSection: BenchSection = {
  name: "sample",
  describe: "batched sampling with the KV cache, and without (recompute the prefix)",
  async run(env) {
    const { sampleBatch: b, promptLength: p, newTokens: n } = env.workload;
    const lm = CausalLM.create(env.model, 0);
    const prompts = samplePrompts(env);
    const opts = { maxNewTokens: n, eosId: -1 }; // never stop early: n tokens per row
    const tokensPerIteration = b * n;
    try {
      const cached = await measure(() => lm.sample(prompts, opts, new Rng(3)), reps(env, 9));
      const plain = await measure(
        () => sampleNoCache(lm, prompts, opts, new Rng(3)),
        env.quick
          ? { warmup: 1, repeats: 2 }
          : env.info.backend === "cpu"
          ? { warmup: 0, repeats: 1 } // ~30 s an iteration there
          : { warmup: 1, repeats: 5 },
      );
      const speedup = plain.median / cached.median;
      const what = `batch ${b}, ${p}-token prompts, ${n} new tokens (prompt time included)`;
      return [
        {
          id: "sample/kv-cache",
          label: `sampling with the KV cache, ${what}`,
          tokensPerSecond: tokensPerIteration / (cached.median / 1000),
          tokensPerIteration,
          ms: cached,
          compare: `PyTorch CPU ≈${fmt(BASELINES.pytorchCpu.sample)} tokens/s; ${
            speedup.toFixed(1)
          }× the no-cache baseline`,
          extra: { speedupOverNoCache: speedup },
        },
        {
          id: "sample/no-cache",
          label: `sampling that recomputes the whole prefix each step, ${what}`,
          tokensPerSecond: tokensPerIteration / (plain.median / 1000),
          tokensPerIteration,
          ms: plain,
          compare: "baseline of sample/kv-cache",
        },
      ];
    } finally {
      lm.dispose();
    }
  },
};

/** Every section, in run order. */
export const BENCH_SECTIONS: readonly BenchSection[] = [
  trainSection,
  trainStockSection,
  sampleSection,
  ppoSection,
  dpoSection,
];

/** Section names accepted by `--sections`. */
export function sectionNames(): string[] {
  return BENCH_SECTIONS.map((s) => s.name);
}

/**
 * Run `sections` (default all that apply to the active backend) on the active backend.
 * @returns their figures in order.
 */
export async function runSections(
  env: BenchEnv,
  sections: readonly BenchSection[] = BENCH_SECTIONS,
): Promise<BenchFigure[]> {
  const figures: BenchFigure[] = [];
  for (const s of sections) {
    if (s.backends && !s.backends.includes(env.info.backend)) continue;
    env.log(`${env.info.backend}: ${s.name} …`);
    figures.push(...await s.run(env));
  }
  return figures;
}
