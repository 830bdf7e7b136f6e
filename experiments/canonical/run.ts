/**
 * One method run of the canonical experiment: load the upstream models, train with the
 * run config (methods/), evaluate on the held-out prompts, and record it — a cached stage
 * published to `<results>/<run-id>/` (lib/sweep/run_record.ts).
 *
 * For tests of the failure path, `RLHF_FAULT=nan:<method or run id>:<step>` makes that
 * training step's loss NaN, so the run fails exactly as a diverging one would
 * ({@link faultFromEnv}).
 *
 * @module
 */
import { join } from "node:path";
import { METHODS } from "./config.ts";
import { METHOD_SPECS, type MethodContext } from "./methods/mod.ts";
import type { PlannedRun } from "./plan.ts";
import { runStageConfig, runStageName } from "./plan.ts";
import { goldSource, readData } from "./stages/data.ts";
import type { Upstream, UpstreamStage } from "./stages/upstream.ts";
import { loadCheckpoint } from "../../lib/models/checkpoint.ts";
import { rewardModelSource } from "../../lib/train/rollout.ts";
import { armNanFault, type FaultSpec, parseFault } from "../../lib/train/_fault.ts";
import { evaluatePolicy, type PolicyEval } from "../../lib/eval/policy_eval.ts";
import { bootstrapMean } from "../../lib/eval/bootstrap.ts";
import { readJson } from "../../lib/sweep/json_file.ts";
import type { RewardScales } from "./stages/feedback.ts";
import { recordRun, type RunOutput } from "../../lib/sweep/run_record.ts";
import type { StageResult } from "../../lib/sweep/stage_cache.ts";
import { activeBackend, initBackend } from "../../lib/backend/mod.ts";
import { ConfigError } from "../../lib/util/errors.ts";

/** The environment variable of {@link faultFromEnv}. */
export const FAULT_ENV = "RLHF_FAULT";

/**
 * The fault to inject, from `RLHF_FAULT=nan:<method or run id>:<step>` (unset or empty:
 * none). The only place the variable is read. A matching run's training sees a NaN loss
 * at that 0-based step (PPO: iteration). For tests of the failure path; never set it for
 * real runs.
 * @throws ConfigError when the value is malformed or names a method that does not train.
 */
export function faultFromEnv(): FaultSpec | undefined {
  const raw = Deno.env.get(FAULT_ENV);
  if (!raw) return undefined;
  const f = parseFault(raw, FAULT_ENV);
  const trained = METHODS.filter((m) => m !== "bon") as string[];
  if (!trained.includes(f.target) && !f.target.includes("__")) {
    throw new ConfigError(
      `${FAULT_ENV} ${JSON.stringify(raw)} names ${JSON.stringify(f.target)}, which is neither ` +
        `a method that trains (${trained.join(", ")}) nor a run id`,
    );
  }
  return f;
}

/**
 * The summary row of a run: its labels (knob, seed, axes), its headline numbers on the
 * held-out prompts with a bootstrap standard error and 95% interval over prompts for gold,
 * proxy and (sampled) KL, and the method's notes (convergence gate, trainer β).
 */
export function summaryRow(
  r: PlannedRun,
  ev: PolicyEval,
  notes: Record<string, unknown> = {},
  bootstrap = 1000,
): Record<string, unknown> {
  const { beta = null, n = null, seed, ...axes } = r.labels;
  const m = ev.metrics;
  const sampled = r.method !== "bon";
  const boot = (name: string, values: (number | undefined)[]) => {
    const xs = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (xs.length < 2) {
      return { [`${name}_se`]: null, [`${name}_ci_lo`]: null, [`${name}_ci_hi`]: null };
    }
    const b = bootstrapMean(xs, { resamples: bootstrap, seed: r.config.seed });
    return { [`${name}_se`]: b.se, [`${name}_ci_lo`]: b.lo, [`${name}_ci_hi`]: b.hi };
  };
  return {
    run_id: r.id,
    method: r.method,
    beta,
    n,
    seed,
    ...axes,
    reward_gold: m["reward/gold"]!,
    reward_proxy: m["reward/proxy"] ?? null,
    kl: m["kl/ref"]!,
    entropy: m["policy/entropy"] ?? null,
    distinct_2: m["gen/distinct2"]!,
    length: m["gen/length"]!,
    ...boot("reward_gold", ev.samples.map((x) => x.gold)),
    ...boot("reward_proxy", ev.samples.map((x) => x.proxy)),
    ...(sampled ? boot("kl", ev.samples.map((x) => x.kl)) : boot("kl", [])),
    // Best-of-n's KL is log n − (n−1)/n, the others' a mean over sampled completions.
    kl_kind: sampled ? "sampled" : "analytic",
    n_prompts: ev.samples.length,
    gate_passed: null,
    gate_value: null,
    gate_threshold: null,
    beta_trainer: null,
    ...notes,
  };
}

/** The key of an upstream stage a run reads (an error when its sweep did not run it). */
function upstreamKey(u: Upstream, stage: UpstreamStage, r: PlannedRun): string {
  const res = u[stage];
  if (!res) throw new RangeError(`${r.id} reads the ${stage} stage, which was not run`);
  return res.key;
}

/** Run (or reuse) one planned run and publish it under `publishRoot/<id>/`. */
export function executeRun(
  cacheRoot: string,
  publishRoot: string,
  r: PlannedRun,
  upstream: Upstream,
  log: (m: string) => void,
): Promise<StageResult> {
  const spec = METHOD_SPECS[r.method];
  const fault = faultFromEnv();
  const faultStep = fault && (fault.target === r.method || fault.target === r.id)
    ? fault.step
    : undefined;
  return recordRun({
    cacheRoot,
    publishDir: join(publishRoot, r.id),
    stage: runStageName(r.method),
    config: runStageConfig(r.runConfig),
    inputs: Object.fromEntries(spec.inputs.map((s) => [s, upstreamKey(upstream, s, r)])),
    configFile: {
      run: { id: r.id, method: r.method, labels: r.labels },
      runConfig: r.runConfig,
      experimentConfig: r.config,
    },
    seed: r.config.seed,
    backend: async () => activeBackend() ?? await initBackend(),
    checkpointEvery: r.config.checkpointEvery,
    log,
    run: async (record): Promise<RunOutput> => {
      const data = await readData(upstream.data.dir);
      const { model: rm } = await loadCheckpoint(join(upstream.rm.dir, "model.ckpt"), {
        kind: "scalar",
      });
      const { model: sft } = await loadCheckpoint(join(upstream.sft.dir, "model.ckpt"), {
        kind: "lm",
      });
      const rmSummary = await readJson<{ scale: RewardScales; valAccuracy: number }>(
        join(upstream.rm.dir, "summary.json"),
      );
      const gold = goldSource(data.tokenizer, r.runConfig.eval);
      const proxy = rewardModelSource(rm);
      const checkpointPrompts = data.evalPrompts.slice(0, r.config.eval.checkpointPrompts);
      let checkpoints = 0;
      const ctx: MethodContext = {
        experiment: r.config,
        upstream,
        data,
        sft,
        rm,
        gold,
        proxy,
        scales: rmSummary.scale,
        rmValAccuracy: rmSummary.valAccuracy,
        evaluateCheckpoint: async (policy) => {
          const ev = await evaluatePolicy({
            policy,
            ref: sft,
            prompts: checkpointPrompts,
            maxNewTokens: r.runConfig.eval.maxNewTokens,
            gold,
            proxy,
            // A fresh draw per checkpoint, different from the final evaluation's.
            seed: r.runConfig.eval.seed + 7 * ++checkpoints,
          });
          return {
            "eval/gold": ev.metrics["reward/gold"]!,
            "eval/proxy": ev.metrics["reward/proxy"]!,
            "eval/kl": ev.metrics["kl/ref"]!,
          };
        },
        record,
        label: `${r.method} ${"n" in r.labels ? `n=${r.labels.n}` : `β=${r.labels.beta}`}`,
        runId: r.id,
        cacheRoot,
        log,
      };
      const disarm = faultStep === undefined ? undefined : armNanFault(faultStep);
      try {
        const trained = await (async () => {
          try {
            return await spec.train(ctx, r.runConfig);
          } finally {
            disarm?.();
          }
        })();
        let ev = trained.evaluation;
        if (!ev) {
          try {
            ev = await evaluatePolicy({
              policy: trained.policy!,
              ref: sft,
              prompts: data.evalPrompts,
              maxNewTokens: r.runConfig.eval.maxNewTokens,
              gold,
              proxy,
              seed: r.runConfig.eval.seed,
              progress: `${ctx.label} · evaluation on ${data.evalPrompts.length} prompts`,
            });
          } finally {
            trained.policy?.dispose();
          }
        }
        const decode = (ids: readonly number[]) => data.tokenizer.decode([...ids]);
        return {
          rows: trained.rows,
          summary: summaryRow(r, ev, trained.notes, r.config.eval.bootstrap),
          samples: [
            ...trained.samples,
            ...ev.samples.map((s) => ({
              kind: "eval",
              prompt: decode(s.prompt),
              completion: decode(s.response),
              gold: s.gold,
              proxy: s.proxy ?? null,
            })),
          ],
        };
      } finally {
        rm.dispose();
        sft.dispose();
      }
    },
  });
}
