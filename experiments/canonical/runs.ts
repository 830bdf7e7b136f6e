/**
 * The canonical experiment's method runs: one per method × β (or n) × seed, each cached
 * like a stage, evaluated on held-out prompts, and published to
 * `results/<experiment>/<run-id>/` with config.json, manifest.json, metrics.csv,
 * summary.csv and samples.jsonl. Run ids follow CleanRL: `<experiment>__<method>__<β>__<seed>`.
 *
 * @module
 */
import { join } from "node:path";
import * as aq from "arquero";
import type { CanonicalConfig, Method } from "./config.ts";
import {
  goldSource,
  readData,
  STAGE_FORMAT,
  tokenPairs,
  type Upstream,
  writeJson,
  writeMetrics,
} from "./stages.ts";
import { loadPreferences, splitPreferences } from "../../lib/data/preference_table.ts";
import { goldReward } from "../../lib/rewards/mod.ts";
import { loadCheckpoint } from "../../lib/models/checkpoint.ts";
import { ScalarModel } from "../../lib/models/scalar_head.ts";
import { trainPpo } from "../../lib/train/ppo.ts";
import { trainDpo } from "../../lib/train/dpo.ts";
import { rewardModelSource } from "../../lib/train/rollout.ts";
import type { MetricRow } from "../../lib/train/metrics.ts";
import { bestOfN, evaluatePolicy, type PolicyEval } from "../../lib/eval/policy_eval.ts";
import { runStage, type StageResult } from "../../lib/sweep/stage_cache.ts";
import { writeCsvTable } from "../../lib/sweep/results_table.ts";
import { buildManifest, writeManifest } from "../../lib/sweep/manifest.ts";
import { hashKey } from "../../lib/sweep/hash.ts";
import { activeBackend, initBackend } from "../../lib/backend.ts";
import { writeTextAtomic } from "../../lib/util/atomic_write.ts";

/** One run of the grid. */
export interface RunSpec {
  /** `<experiment>__<method>__<β or n>__<seed>`. */
  id: string;
  method: Method;
  /** β of PPO and the DPO family; null for best-of-n. */
  beta: number | null;
  /** n of best-of-n; null otherwise. */
  n: number | null;
  seed: number;
}

const DPO_LOSS: Partial<Record<Method, "dpo" | "ipo" | "hinge" | "simpo">> = {
  dpo: "dpo",
  cdpo: "dpo",
  ipo: "ipo",
  hinge: "hinge",
  simpo: "simpo",
};

/** Every run of the grid, in a stable order: method, then β or n, then seed. */
export function enumerateRuns(experiment: string, c: CanonicalConfig): RunSpec[] {
  const runs: RunSpec[] = [];
  for (const method of c.methods) {
    const values = method === "bon" ? c.bon.n : method.startsWith("ppo") ? c.ppo.beta : c.dpo.beta;
    for (const v of values) {
      for (const seed of c.seed) {
        runs.push({
          id: `${experiment}__${method}__${method === "bon" ? `n${v}` : v}__${seed}`,
          method,
          beta: method === "bon" ? null : v,
          n: method === "bon" ? v : null,
          seed,
        });
      }
    }
  }
  return runs;
}

/** The part of the experiment config a run depends on (its cache key's config). */
export function runConfig(c: CanonicalConfig, r: RunSpec): Record<string, unknown> {
  const common = {
    method: r.method,
    seed: r.seed,
    gold: c.gold,
    maxNewTokens: c.data.maxNewTokens,
  };
  if (r.method === "bon") return { ...common, n: r.n, bon: { selectBy: c.bon.selectBy } };
  if (r.method === "ppo" || r.method === "ppo_gt") {
    return { ...common, ppo: { ...c.ppo, beta: r.beta, seed: r.seed } };
  }
  return {
    ...common,
    valFraction: c.prefs.valFraction,
    rmSeed: c.rm.seed,
    dpo: {
      ...c.dpo,
      beta: r.beta,
      seed: r.seed,
      lossType: DPO_LOSS[r.method],
      labelSmoothing: r.method === "cdpo" ? c.dpo.cdpoEpsilon : c.dpo.labelSmoothing,
    },
  };
}

/** Columns of a run's summary row (and of the experiment's summary.csv). */
export interface SummaryRow {
  run_id: string;
  method: string;
  beta: number | null;
  n: number | null;
  seed: number;
  reward_gold: number;
  reward_proxy: number | null;
  kl: number;
  entropy: number | null;
  distinct_2: number;
  length: number;
  seconds: number;
}

/** Run (or reuse) one method run and publish its files under `publishRoot/<id>/`. */
export async function executeRun(
  cacheRoot: string,
  publishRoot: string,
  c: CanonicalConfig,
  up: Upstream,
  r: RunSpec,
  log: (m: string) => void,
): Promise<StageResult> {
  const config = runConfig(c, r);
  const res = await runStage({
    root: cacheRoot,
    name: `run-${r.method}`,
    config,
    inputs: { data: up.data.key, sft: up.sft.key, rm: up.rm.key, prefs: up.prefs.key },
    log,
    run: async (dir) => {
      const started = new Date();
      const backend = activeBackend() ?? await initBackend();
      const configHash = await hashKey(config);
      await writeJson(join(dir, "config.json"), { run: r, config, experimentConfig: c });
      try {
        const out = await trainAndEvaluate(c, up, r);
        const summary: SummaryRow = {
          run_id: r.id,
          method: r.method,
          beta: r.beta,
          n: r.n,
          seed: r.seed,
          reward_gold: out.eval.metrics["reward/gold"]!,
          reward_proxy: out.eval.metrics["reward/proxy"] ?? null,
          kl: out.eval.metrics["kl/ref"]!,
          entropy: out.eval.metrics["policy/entropy"] ?? null,
          distinct_2: out.eval.metrics["gen/distinct2"]!,
          length: out.eval.metrics["gen/length"]!,
          seconds: (Date.now() - started.getTime()) / 1000,
        };
        await writeMetrics(join(dir, "metrics.csv"), out.rows.length ? out.rows : [{ step: 0 }]);
        await writeCsvTable(aq.from([summary]), join(dir, "summary.csv"));
        await writeTextAtomic(
          join(dir, "samples.jsonl"),
          out.samples.map((s) => JSON.stringify(s)).join("\n") + "\n",
        );
        await writeManifest(
          join(dir, "manifest.json"),
          await buildManifest({
            backend,
            seed: r.seed,
            configHash,
            startedAt: started,
            status: "ok",
          }),
        );
      } catch (e) {
        // Keep the record of the failure next to the config, then fail the stage.
        const failed = join(publishRoot, r.id);
        await Deno.mkdir(failed, { recursive: true });
        await writeManifest(
          join(failed, "manifest.json"),
          await buildManifest({
            backend,
            seed: r.seed,
            configHash,
            startedAt: started,
            status: "failed",
            error: e,
          }),
        );
        throw e;
      }
    },
  });
  await publishRun(res.dir, join(publishRoot, r.id));
  return res;
}

/** Copy a finished run's files to its published directory, replacing an older copy atomically. */
export async function publishRun(from: string, to: string): Promise<void> {
  const tmp = `${to}.publish-${Deno.pid}`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp, { recursive: true });
  for (const f of ["config.json", "manifest.json", "metrics.csv", "summary.csv", "samples.jsonl"]) {
    await Deno.copyFile(join(from, f), join(tmp, f));
  }
  await Deno.remove(to, { recursive: true }).catch(() => {});
  await Deno.rename(tmp, to);
}

/** Train the method (if it trains) and evaluate the result on held-out prompts. */
async function trainAndEvaluate(
  c: CanonicalConfig,
  up: Upstream,
  r: RunSpec,
): Promise<{ rows: MetricRow[]; eval: PolicyEval; samples: Record<string, unknown>[] }> {
  const data = await readData(up.data.dir);
  const { tokenizer, trainPrompts, evalPrompts } = data;
  const gold = goldSource(tokenizer, goldReward(c.gold));
  const { model: rm } = await loadCheckpoint(join(up.rm.dir, "model.ckpt"), { kind: "scalar" });
  const proxy = rewardModelSource(rm);
  const { model: sft } = await loadCheckpoint(join(up.sft.dir, "model.ckpt"), { kind: "lm" });
  const models: { dispose(): void }[] = [rm, sft];
  const decode = (ids: readonly number[]) => tokenizer.decode([...ids]);
  const trainingSamples: Record<string, unknown>[] = [];
  try {
    let rows: MetricRow[] = [];
    let result: PolicyEval;
    if (r.method === "bon") {
      result = await bestOfN({
        policy: sft,
        prompts: evalPrompts,
        n: r.n!,
        maxNewTokens: c.data.maxNewTokens,
        select: c.bon.selectBy === "gold" ? gold : proxy,
        gold,
        proxy,
        seed: r.seed,
      });
    } else {
      const policy = sft.clone(true);
      const ref = sft;
      models.push(policy);
      if (r.method === "ppo" || r.method === "ppo_gt") {
        const value = c.ppo.valueInit === "reward"
          ? rm.clone(true)
          : ScalarModel.fromLM(sft, r.seed);
        models.push(value);
        const { beta: _b, valueInit: _v, ...ppoRest } = c.ppo;
        rows = await trainPpo({
          policy,
          ref,
          value,
          reward: r.method === "ppo" ? proxy : gold,
          gold: r.method === "ppo" ? gold : proxy,
          prompts: trainPrompts,
          config: { ...ppoRest, beta: r.beta!, seed: r.seed },
          onSamples: (ss) =>
            ss.forEach((s) =>
              trainingSamples.push({
                kind: "train",
                step: s.step,
                prompt: decode(s.prompt),
                completion: decode(s.response),
                score: s.score,
              })
            ),
          progress: `${r.method} β=${r.beta}`,
        });
        if (r.method === "ppo_gt") {
          // Trained on gold: the row's "gold" slot measured the proxy; name it so.
          rows = rows.map(({ ["reward/gold"]: p, ["reward/score"]: g, ...rest }) => ({
            ...rest,
            "reward/gold": g!,
            ...(p !== undefined ? { "reward/proxy": p } : {}),
          }));
        } else {
          rows = rows.map(({ ["reward/score"]: s, ...rest }) => ({ ...rest, "reward/proxy": s! }));
        }
      } else {
        const table = await loadPreferences(join(up.prefs.dir, "prefs.csv"));
        const { train, val } = splitPreferences(table, c.prefs.valFraction, c.rm.seed);
        const cfg = runConfig(c, r).dpo as Record<string, unknown>;
        const { cdpoEpsilon: _e, ...dpoCfg } = cfg as Record<string, unknown> & {
          cdpoEpsilon: number;
        };
        const res = await trainDpo({
          policy,
          ref,
          train: tokenPairs(data, train),
          val: tokenPairs(data, val),
          config: dpoCfg as unknown as Parameters<typeof trainDpo>[0]["config"],
          progress: `${r.method} β=${r.beta}`,
        });
        rows = res.rows;
      }
      result = await evaluatePolicy({
        policy,
        ref,
        prompts: evalPrompts,
        maxNewTokens: c.data.maxNewTokens,
        gold,
        proxy,
        seed: r.seed + 1000,
      });
    }
    const samples = [
      ...trainingSamples,
      ...result.samples.map((s) => ({
        kind: "eval",
        prompt: decode(s.prompt),
        completion: decode(s.response),
        gold: s.gold,
        proxy: s.proxy ?? null,
      })),
    ];
    return { rows, eval: result, samples };
  } finally {
    for (const m of models) m.dispose();
  }
}

/** Read a run's published summary row. */
export async function readRunSummary(dir: string): Promise<Record<string, unknown>> {
  const text = await Deno.readTextFile(join(dir, "summary.csv"));
  return aq.fromCSV(text).objects()[0] as Record<string, unknown>;
}
