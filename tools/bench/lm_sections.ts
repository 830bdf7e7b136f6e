/**
 * Sections that time the language model itself on the active backend:
 * - `train`: one SFT step (forward + backward + AdamW) on a [B, T] batch, with the time
 *   split into forward, backward and optimiser phases;
 * - `train-stock`: the same step on tfjs's own kernels, without the overrides of
 *   `lib/backend/kernels.ts` (wasm and webgpu), to show what they buy;
 * - `sample`: batched sampling with the KV cache, and the no-cache baseline that
 *   recomputes the whole prefix at every step.
 *
 * {@link timeTraining} and {@link timeSampling} are also what the PyTorch peer's rounds
 * time on the deno side (peer_round.ts), so both comparisons measure the same loop.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { CausalLM } from "../../lib/models/causal_lm.ts";
import { fastKernels, setFastKernels } from "../../lib/backend/mod.ts";
import { AdamW, optimiserStep } from "../../lib/train/adamw.ts";
import { sftLoss } from "../../lib/losses/sft.ts";
import { Rng } from "../../lib/util/rng.ts";
import { BOS_ID } from "../../lib/data/special_tokens.ts";
import { measure, type MeasureOptions, profileKernels, summarize, type Summary } from "./timing.ts";
import { sampleNoCache } from "./nocache_sampling.ts";
import { type BenchEnv, type BenchFigure, type BenchSection, repetitions } from "./section.ts";
import { samplingFlops, trainStepFlops } from "./flops.ts";
import { TRAIN_STEP } from "./workloads.ts";

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

/** A timed loop's figures, before the section names them. */
export type Timing = Omit<BenchFigure, "id" | "label">;

/**
 * Time a full training step: forward, backward, AdamW with {@link TRAIN_STEP}'s settings.
 * With `phases`, each round also times the forward pass alone, forward + backward, and the
 * AdamW update alone (on the gradients of that round), so the phases share the machine's
 * load of the moment; backward is (forward + backward) − forward.
 */
export async function timeTraining(
  env: BenchEnv,
  opts: { phases: boolean; reps: MeasureOptions },
): Promise<Timing> {
  const lm = CausalLM.create(env.model, 0);
  const { lr, ...adamw } = TRAIN_STEP;
  const opt = new AdamW(lm.params, adamw);
  const { tokens, mask } = trainBatch(env);
  const lossFn = () => sftLoss(lm.tokenLogProbs(tokens, { training: true }), mask);
  const vars = [...lm.params.values()];
  const wpe = lm.params.get("wpe")!;
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
    const r = { warmup: opts.reps.warmup ?? 1, repeats: opts.reps.repeats ?? 5 };
    const tokensPerIteration = env.workload.trainBatch * env.workload.trainLength;
    let ms: Summary;
    let phaseMs: Record<string, number> | undefined;
    if (!opts.phases) {
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
    const out: Timing = {
      tokensPerSecond: tokensPerIteration / (ms.median / 1000),
      tokensPerIteration,
      ms,
      flopsPerIteration: trainStepFlops(env.model, env.workload),
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

/**
 * Time batched sampling with the KV cache: `newTokens` per row (no early stop), prompt
 * time included, temperature 1.
 */
export async function timeSampling(env: BenchEnv, reps: MeasureOptions): Promise<Timing> {
  const { sampleBatch: b, newTokens: n } = env.workload;
  const lm = CausalLM.create(env.model, 0);
  const prompts = samplePrompts(env);
  const opts = { maxNewTokens: n, eosId: -1 }; // never stop early: n tokens per row
  try {
    const ms = await measure(() => lm.sample(prompts, opts, new Rng(3)), reps);
    return {
      tokensPerSecond: b * n / (ms.median / 1000),
      tokensPerIteration: b * n,
      ms,
      flopsPerIteration: samplingFlops(env.model, env.workload),
    };
  } finally {
    lm.dispose();
  }
}

/** `train`: forward + backward + AdamW, with its phases. */
const trainSection: BenchSection = {
  name: "train",
  describe: "SFT step (forward + backward + AdamW), split into phases",
  async run(env) {
    const { trainBatch: b, trainLength: t } = env.workload;
    const f = await timeTraining(env, { phases: true, reps: repetitions(env, 15) });
    return [{
      id: "train",
      label: `training step, batch ${b} × ${t} tokens (forward + backward + AdamW)`,
      ...f,
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
      // ~4× slower than `train`, so fewer repetitions.
      const f = await timeTraining({ ...env, profile: false }, {
        phases: false,
        reps: repetitions(env, 5),
      });
      return [{
        id: "train-stock",
        label: "training step on the stock tfjs kernels (no overrides)",
        ...f,
        compare: "`train`, which runs the overrides of lib/backend/kernels.ts",
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
    const cached = await timeSampling(env, repetitions(env, 9));
    const lm = CausalLM.create(env.model, 0);
    const prompts = samplePrompts(env);
    const opts = { maxNewTokens: n, eosId: -1 };
    try {
      const plain = await measure(
        () => sampleNoCache(lm, prompts, opts, new Rng(3)),
        env.quick
          ? { warmup: 1, repeats: 2 }
          : env.info.backend === "cpu"
          ? { warmup: 0, repeats: 1 } // ~30 s an iteration there
          : { warmup: 1, repeats: 5 },
      );
      const speedup = plain.median / cached.ms.median;
      const what = `batch ${b}, ${p}-token prompts, ${n} new tokens (prompt time included)`;
      return [
        {
          id: "sample/kv-cache",
          label: `sampling with the KV cache, ${what}`,
          ...cached,
          compare: `${speedup.toFixed(1)}× the no-cache baseline`,
          extra: { speedupOverNoCache: speedup },
        },
        {
          id: "sample/no-cache",
          label: `sampling that recomputes the whole prefix each step, ${what}`,
          tokensPerSecond: cached.tokensPerIteration / (plain.median / 1000),
          tokensPerIteration: cached.tokensPerIteration,
          ms: plain,
          compare: "baseline of sample/kv-cache",
        },
      ];
    } finally {
      lm.dispose();
    }
  },
};

/** The language-model sections, in run order. */
export const LM_SECTIONS: readonly BenchSection[] = [
  trainSection,
  trainStockSection,
  sampleSection,
];
