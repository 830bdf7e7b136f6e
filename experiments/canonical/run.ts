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
import type { Upstream } from "./stages/upstream.ts";
import { loadCheckpoint } from "../../lib/models/checkpoint.ts";
import { rewardModelSource } from "../../lib/train/rollout.ts";
import { armNanFault, type FaultSpec, parseFault } from "../../lib/train/_fault.ts";
import { evaluatePolicy, type PolicyEval } from "../../lib/eval/policy_eval.ts";
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

/** The summary row of a run: its labels (knob, seed, axes) and headline numbers. */
export function summaryRow(r: PlannedRun, ev: PolicyEval): Record<string, unknown> {
  const { beta = null, n = null, seed, ...axes } = r.labels;
  const m = ev.metrics;
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
    // Best-of-n's KL is log n − (n−1)/n, the others' a mean over sampled completions.
    kl_kind: r.method === "bon" ? "analytic" : "sampled",
    n_prompts: ev.samples.length,
  };
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
    inputs: Object.fromEntries(spec.inputs.map((s) => [s, upstream[s].key])),
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
      const ctx: MethodContext = {
        experiment: r.config,
        upstream,
        data,
        sft,
        rm,
        gold: goldSource(data.tokenizer, r.runConfig.eval),
        proxy: rewardModelSource(rm),
        record,
        label: `${r.method} ${"n" in r.labels ? `n=${r.labels.n}` : `β=${r.labels.beta}`}`,
        runId: r.id,
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
              gold: ctx.gold,
              proxy: ctx.proxy,
              seed: r.runConfig.eval.seed,
            });
          } finally {
            trained.policy?.dispose();
          }
        }
        const decode = (ids: readonly number[]) => data.tokenizer.decode([...ids]);
        return {
          rows: trained.rows,
          summary: summaryRow(r, ev),
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
