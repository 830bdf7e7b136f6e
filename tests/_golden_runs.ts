/**
 * Golden reference runs: four tiny trainings (SFT, reward model, PPO, DPO), a few steps
 * each, on the pure-JavaScript `cpu` backend with synthetic token data, whose per-step
 * losses and key metrics are committed in `tests/golden/<name>.json`. `golden_test.ts`
 * reruns them and compares step by step; `tools/update_golden.ts` (`deno task
 * golden:update`) rewrites the files and prints what changed.
 *
 * Everything a run depends on is here (model shape, data, config); nothing is read from
 * disk, so a changed number means a changed library (or Deno, or tfjs), not changed data.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { CausalLM } from "../lib/models/causal_lm.ts";
import { type ModelConfig, modelConfig } from "../lib/models/config.ts";
import { ScalarModel } from "../lib/models/scalar_head.ts";
import type { TokenPair } from "../lib/data/response_batch.ts";
import type { MetricRow } from "../lib/train/metrics.ts";
import { sftConfig, trainSft } from "../lib/train/sft.ts";
import { rewardModelConfig, trainRewardModel } from "../lib/train/reward_model.ts";
import { ppoConfig } from "../lib/train/ppo_config.ts";
import { trainPpo } from "../lib/train/ppo.ts";
import { dpoConfig, trainDpo } from "../lib/train/dpo.ts";
import type { RewardSource } from "../lib/train/rollout.ts";
import { Rng } from "../lib/util/rng.ts";

/** The backend every golden run uses: single-threaded JavaScript, one operation order. */
export const GOLDEN_BACKEND = "cpu";

/** The one model shape of every golden run (dropout on, so its seeded masks are pinned too). */
export const GOLDEN_MODEL: ModelConfig = modelConfig({
  vocabSize: 20,
  dModel: 16,
  nLayers: 1,
  nHeads: 2,
  context: 12,
  dropout: 0.1,
});

/** The token PPO's reward counts and the preference data prefers. */
const GOOD = 7;

/** What one golden run returns: its resolved config and its metric rows. */
export interface GoldenOutput {
  config: Record<string, unknown>;
  rows: MetricRow[];
}

/** One golden run. */
export interface GoldenRun {
  /** File name under `tests/golden/` (without `.json`). */
  name: string;
  /** One line: what is trained on what. */
  about: string;
  /** Metrics pinned at every step, besides `step`. */
  metrics: readonly string[];
  /** Train from scratch. Disposes every tensor it creates. */
  run: () => Promise<GoldenOutput>;
}

/** Sequences of a tiny deterministic grammar (arithmetic progressions mod 16). */
function grammarSequences(n: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const start = rng.int(16);
    const len = 3 + rng.int(6);
    return [1, ...Array.from({ length: len }, (_, i) => 4 + ((start + 3 * i) % 16)), 2];
  });
}

/** Pairs whose chosen response holds GOOD tokens and whose rejected one does not. */
function goodPairs(n: number, seed: number): TokenPair[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const other = () => 8 + rng.int(12);
    return {
      prompt: [1, 4 + rng.int(8)],
      chosen: [GOOD, other(), GOOD, 2],
      rejected: [other(), other(), other(), 2],
    };
  });
}

/** PPO's reward: the fraction of response tokens equal to GOOD. */
const countGood: RewardSource = (_p, responses) =>
  Promise.resolve(
    Float32Array.from(responses, (r) => r.filter((t) => t === GOOD).length / r.length),
  );

/** The four golden runs, in the order of the canonical pipeline. */
export const GOLDEN_RUNS: readonly GoldenRun[] = [
  {
    name: "sft",
    about: "SFT of a fresh LM on 64 grammar sequences, 8 steps of batch 8",
    metrics: ["loss/sft", "train/grad_norm"],
    run: async () => {
      const model = CausalLM.create(GOLDEN_MODEL, 11);
      const config = sftConfig({
        steps: 8,
        batchSize: 8,
        lr: 1e-2,
        warmupSteps: 2,
        evalEvery: 0,
        logEvery: 1,
        seed: 1,
      });
      try {
        const { rows } = await trainSft({
          model,
          train: grammarSequences(64, 1),
          config,
          progress: false,
        });
        return { config: { ...config }, rows };
      } finally {
        model.dispose();
      }
    },
  },
  {
    name: "reward_model",
    about: "Bradley–Terry reward model from a fresh LM's trunk on 64 GOOD-token pairs, " +
      "8 steps of batch 8",
    metrics: ["loss/rm", "rm/accuracy", "rm/margin"],
    run: async () => {
      const lm = CausalLM.create(GOLDEN_MODEL, 12);
      const model = ScalarModel.fromLM(lm, 13);
      lm.dispose();
      const config = rewardModelConfig({
        steps: 8,
        batchSize: 8,
        lr: 3e-3,
        warmupSteps: 2,
        evalEvery: 0,
        logEvery: 1,
        seed: 2,
      });
      try {
        const { rows } = await trainRewardModel({
          model,
          train: goodPairs(64, 2),
          config,
          progress: false,
        });
        return { config: { ...config }, rows };
      } finally {
        model.dispose();
      }
    },
  },
  {
    name: "ppo",
    about: "PPO of a fresh LM against the fraction of GOOD tokens, 8 iterations of 8 " +
      "rollouts of 4 tokens, 2 epochs of minibatch 4, fixed β",
    metrics: ["loss/policy", "loss/value", "kl/ref", "reward/score"],
    run: async () => {
      const policy = CausalLM.create(GOLDEN_MODEL, 14);
      const ref = policy.clone(false);
      const value = ScalarModel.fromLM(policy, 15);
      // Only the fields that differ from PPO_DEFAULTS, so renamed defaults need no edit here.
      const config = ppoConfig({
        iterations: 8,
        rolloutBatch: 8,
        maxNewTokens: 4,
        epochs: 2,
        minibatchSize: 4,
        lr: 3e-3,
        beta: 0.05,
        sampleEvery: 0,
        seed: 3,
      });
      try {
        const rows = await trainPpo({
          policy,
          ref,
          value,
          reward: countGood,
          prompts: Array.from({ length: 8 }, (_, i) => [1, 4 + i]),
          config,
          progress: false,
        });
        return { config: { ...config }, rows };
      } finally {
        for (const m of [policy, ref, value]) m.dispose();
      }
    },
  },
  {
    name: "dpo",
    about: "DPO of a fresh LM against its frozen copy on 64 GOOD-token pairs, 8 steps of " +
      "batch 8, β = 0.5",
    metrics: ["loss/dpo", "rewards/margin", "rewards/accuracy"],
    run: async () => {
      const policy = CausalLM.create(GOLDEN_MODEL, 16);
      const ref = policy.clone(false);
      const config = dpoConfig({
        steps: 8,
        batchSize: 8,
        lr: 3e-3,
        warmupSteps: 2,
        beta: 0.5,
        logEvery: 1,
        seed: 4,
      });
      try {
        const { rows } = await trainDpo({
          policy,
          ref,
          train: goodPairs(64, 5),
          config,
          progress: false,
        });
        return { config: { ...config }, rows };
      } finally {
        policy.dispose();
        ref.dispose();
      }
    },
  },
];

/** What `tests/golden/<name>.json` holds. */
export interface GoldenRecord {
  name: string;
  about: string;
  /** Where the numbers were made: they are exact only for these. */
  backend: string;
  versions: { deno: string; v8: string; tfjs: string };
  model: ModelConfig;
  /** The trainer's full resolved config. */
  config: Record<string, unknown>;
  metrics: string[];
  /** One entry per step: `step` and every metric of {@link GoldenRecord.metrics}. */
  steps: MetricRow[];
}

/** Path of a run's golden file. */
export function goldenPath(name: string): string {
  return new URL(`./golden/${name}.json`, import.meta.url).pathname;
}

/** The command that regenerates the golden files. */
export const UPDATE_COMMAND = "deno task golden:update";

/**
 * Run `run` on the cpu backend and record it.
 * @throws Error when a pinned metric is missing from a row (a renamed metric).
 */
export async function recordGolden(run: GoldenRun): Promise<GoldenRecord> {
  const info = await initBackend(GOLDEN_BACKEND);
  const { config, rows } = await run.run();
  const steps = rows.filter((r) => run.metrics.some((m) => m in r)).map((r) => {
    const step: MetricRow = { step: r.step };
    for (const m of run.metrics) {
      const v = r[m];
      if (v === undefined) throw new Error(`${run.name}: step ${r.step} has no ${m}`);
      step[m] = v;
    }
    return step;
  });
  return {
    name: run.name,
    about: run.about,
    backend: info.backend,
    versions: { deno: Deno.version.deno, v8: Deno.version.v8, tfjs: tf.version.tfjs },
    model: { ...GOLDEN_MODEL },
    config,
    metrics: [...run.metrics],
    steps,
  };
}

/** A golden file as JSON text (2-space indent, trailing newline, numbers round-trip). */
export function formatGolden(record: GoldenRecord): string {
  return JSON.stringify(record, null, 2) + "\n";
}

/** Read a run's golden file, or undefined when there is none. */
export async function readGolden(name: string): Promise<GoldenRecord | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(goldenPath(name))) as GoldenRecord;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/**
 * Every difference between a golden record and a fresh one, one line each: the per-step
 * numbers (compared exactly), then the context that may explain them (config, model,
 * versions, backend). Empty when the numbers are identical; the context alone is only
 * reported alongside a numeric difference (see {@link contextChanges}).
 */
export function numericChanges(want: GoldenRecord, got: GoldenRecord): string[] {
  const out: string[] = [];
  if (want.steps.length !== got.steps.length) {
    out.push(`${want.steps.length} steps recorded, ${got.steps.length} now`);
  }
  const metrics = ["step", ...new Set([...want.metrics, ...got.metrics])];
  for (let i = 0; i < Math.max(want.steps.length, got.steps.length); i++) {
    const a = want.steps[i], b = got.steps[i];
    for (const m of metrics) {
      const x = a?.[m], y = b?.[m];
      if (x === y) continue;
      const rel = x !== undefined && y !== undefined
        ? ` (relative ${(Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y))).toExponential(2)})`
        : "";
      out.push(`step ${a?.step ?? b?.step} ${m}: ${x} → ${y}${rel}`);
    }
  }
  return out;
}

/** Differences of config, model, versions and backend between two records. */
export function contextChanges(want: GoldenRecord, got: GoldenRecord): string[] {
  const out: string[] = [];
  const compare = (what: string, a: Record<string, unknown>, b: Record<string, unknown>) => {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const x = JSON.stringify(a[k]), y = JSON.stringify(b[k]);
      if (x !== y) out.push(`${what}.${k}: ${x ?? "(absent)"} → ${y ?? "(absent)"}`);
    }
  };
  compare("config", want.config, got.config);
  compare("model", { ...want.model }, { ...got.model });
  compare("versions", want.versions, got.versions);
  compare("run", { backend: want.backend, about: want.about }, {
    backend: got.backend,
    about: got.about,
  });
  return out;
}
