/**
 * What every method of the canonical experiment provides: a run-config builder (one
 * grid point → the typed config its trainer takes) and a body that trains with exactly
 * that config. The builder's object is also what the run's cache key hashes and what its
 * config.json records, so the three can never disagree.
 *
 * To add a method: write `methods/<name>.ts` exporting a {@link MethodSpec}, register it
 * in `methods/mod.ts` and add its name to `METHODS` in config.ts (docs/architecture.md,
 * "Adding a method").
 *
 * @module
 */
import type { CanonicalConfig, Method } from "../config.ts";
import type { CanonicalData } from "../stages/data.ts";
import type { Upstream, UpstreamStage } from "../stages/upstream.ts";
import type { CausalLM } from "../../../lib/models/causal_lm.ts";
import { saveCheckpoint } from "../../../lib/models/checkpoint.ts";
import type { ScalarModel } from "../../../lib/models/scalar_head.ts";
import type { RewardSource } from "../../../lib/train/rollout.ts";
import type { MetricRow } from "../../../lib/train/metrics.ts";
import type { PolicyEval } from "../../../lib/eval/policy_eval.ts";
import type { RunContext } from "../../../lib/sweep/run_record.ts";
import type { RewardScales } from "../stages/feedback.ts";
import type { GateResult } from "../../../lib/eval/convergence.ts";

/** How a run's policy is evaluated on the held-out prompts (part of every run config). */
export interface EvalConfig {
  /** New tokens per evaluation completion. */
  maxNewTokens: number;
  /** Seed of the evaluation samples. */
  seed: number;
  /** The gold reward measured. */
  gold: CanonicalConfig["gold"];
}

/** The evaluation settings of a grid point. */
export function evalConfig(c: CanonicalConfig): EvalConfig {
  // Offset from the training seed so evaluation samples are not the training draws.
  return { maxNewTokens: c.data.maxNewTokens, seed: c.seed + 1000, gold: c.gold };
}

/** Everything a method's body may read: upstream results, loaded models, reward sources. */
export interface MethodContext {
  /** The grid point's whole config (for fields that do not change results). */
  experiment: CanonicalConfig;
  /** The upstream stages of this point. */
  upstream: Upstream;
  /** Tokenizer and prompts. */
  data: CanonicalData;
  /** The SFT model: the reference policy (frozen; never train it). */
  sft: CausalLM;
  /** The reward model (frozen). */
  rm: ScalarModel;
  /** The hidden gold reward on token ids. */
  gold: RewardSource;
  /** The reward model as a reward source. */
  proxy: RewardSource;
  /**
   * Mean and spread of the proxy and gold rewards on fresh SFT samples: a method trains on
   * (r − μ)/σ, so one β prices KL the same way for every method.
   */
  scales: RewardScales;
  /** The reward model's held-out preference accuracy (the DPO family's convergence bar). */
  rmValAccuracy: number;
  /**
   * Evaluate a policy being trained on the first `eval.checkpointPrompts` held-out prompts:
   * `eval/gold`, `eval/proxy`, `eval/kl` (one point of the run's checkpoint envelope).
   */
  evaluateCheckpoint: (policy: CausalLM) => Promise<Record<string, number>>;
  /** The run's record: push metric rows, set the checkpoint saver. */
  record: RunContext;
  /** Label for progress bars, e.g. `ppo β=0.1`. */
  label: string;
  /** The run's id (recorded in checkpoints). */
  runId: string;
  /** The stage cache, for stages a method shares between its runs (best-of-n's pool). */
  cacheRoot: string;
  /** Progress messages. */
  log: (m: string) => void;
}

/** What a method's body returns. */
export interface Trained {
  /** Step metrics. */
  rows: MetricRow[];
  /** Training samples (kind "train") for samples.jsonl. */
  samples: Record<string, unknown>[];
  /** The trained policy, evaluated and disposed by the caller; or */
  policy?: CausalLM;
  /** the method's own evaluation (best-of-n: no policy to sample from). */
  evaluation?: PolicyEval;
  /** Extra summary columns: the convergence gate, the β the trainer actually used. */
  notes?: Record<string, number | string | boolean | null>;
}

/** A method's run config: JSON, with the method's name; hashed and written as is. */
export interface MethodRunConfig {
  /** The method. */
  readonly method: Method;
  /** Evaluation settings. */
  readonly eval: EvalConfig;
}

/** One method (or a family of methods sharing a trainer). */
export interface MethodSpec<R extends MethodRunConfig = MethodRunConfig> {
  /** The config field of the method's knob (β or n): always part of a run's name. */
  knob:
    | "ppo.beta"
    | "grpo.beta"
    | "rloo.beta"
    | "odpo.beta"
    | "dpo.beta"
    | "kto.beta"
    | "bon.n";
  /** Upstream stages whose keys enter the run's key. */
  inputs: readonly UpstreamStage[];
  /** The run config of one grid point: the one object the key, config.json and trainer use. */
  runConfig(c: CanonicalConfig, method: Method): R;
  /** Train (or sample) with exactly `run`. */
  train(ctx: MethodContext, run: R): Promise<Trained>;
}

/** A convergence gate as summary columns: `gate_passed`, `gate_value`, `gate_threshold`. */
export function gateNotes(g: GateResult): Record<string, number | boolean | null> {
  return {
    gate_passed: g.passed,
    gate_value: Number.isFinite(g.value) ? g.value : null,
    gate_threshold: g.threshold,
  };
}

/**
 * The policy a run trains: a copy of the SFT model, which the run's checkpoints save (with
 * the tokenizer, and the run and step in their meta). The caller disposes it on failure.
 */
export function runPolicy(ctx: MethodContext): CausalLM {
  const policy = ctx.sft.clone(true);
  ctx.record.checkpoints.save = (path, step) =>
    saveCheckpoint(path, policy, {
      tokenizer: ctx.data.tokenizer.toJSON(),
      meta: { stage: "run", run: ctx.runId, step },
    });
  return policy;
}
