/**
 * The canonical experiment's method runs: one per method × β (or n) × seed, each cached
 * like a stage, evaluated on held-out prompts, and published to
 * `results/<experiment>/<run-id>/` with config.json, manifest.json, metrics.csv,
 * timings.csv, summary.csv and samples.jsonl. Run ids follow CleanRL:
 * `<experiment>__<method>__<β>__<seed>`.
 *
 * metrics.csv and summary.csv hold only what the config, the seed and the backend
 * determine, so a rerun reproduces them byte for byte (`deno task rerun`); wall-clock
 * measurements (`perf/*` per step) go to timings.csv and the run's seconds to manifest.json.
 *
 * Faults: a PPO or DPO-family run saves its policy to `policy.ckpt` every
 * `checkpointEvery` steps, keeping only weights known to give a finite loss (a checkpoint
 * is confirmed by the next step's metrics). When a run fails (a NumericalError
 * from a NaN loss, or anything else) its published directory becomes a failure record:
 * manifest.json with `status: "failed"`, the error (with quantity and step) and the kept
 * checkpoint's step, config.json, the metric rows logged so far, and the last good
 * `policy.ckpt`. The cached stage itself is discarded, so a rerun starts clean. For tests,
 * `RLHF_FAULT=nan:<method or run id>:<step>` makes that training step's loss NaN (see
 * {@link faultFromEnv}).
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import * as aq from "arquero";
import { type CanonicalConfig, type Method, METHODS } from "./config.ts";
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
import { loadCheckpoint, saveCheckpoint } from "../../lib/models/checkpoint.ts";
import type { CausalLM } from "../../lib/models/causal_lm.ts";
import { ScalarModel } from "../../lib/models/scalar_head.ts";
import { trainPpo } from "../../lib/train/ppo.ts";
import { type DpoConfig, trainDpo } from "../../lib/train/dpo.ts";
import { rewardModelSource } from "../../lib/train/rollout.ts";
import type { MetricRow } from "../../lib/train/metrics.ts";
import { armNanFault, type FaultSpec, parseFault } from "../../lib/train/_fault.ts";
import { bestOfN, evaluatePolicy, type PolicyEval } from "../../lib/eval/policy_eval.ts";
import { runStage, type StageResult } from "../../lib/sweep/stage_cache.ts";
import { readCsvTable, writeCsvTable } from "../../lib/sweep/results_table.ts";
import { buildManifest, type Manifest, writeManifest } from "../../lib/sweep/manifest.ts";
import { withLock } from "../../lib/sweep/lock.ts";
import { hashKey } from "../../lib/sweep/hash.ts";
import { activeBackend, initBackend } from "../../lib/backend/mod.ts";
import { writeBytesAtomic, writeTextAtomic } from "../../lib/util/atomic_write.ts";
import { ConfigError, FileFormatError } from "../../lib/util/errors.ts";

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
    format: STAGE_FORMAT,
  };
  if (r.method === "bon") return { ...common, n: r.n, bon: { selectBy: c.bon.selectBy } };
  if (r.method === "ppo" || r.method === "ppo_gt") {
    return { ...common, ppo: { ...c.ppo, beta: r.beta, seed: r.seed } };
  }
  return {
    ...common,
    valFraction: c.prefs.valFraction,
    rmSeed: c.rm.seed,
    dpo: { ...dpoRunConfig(c, r), cdpoEpsilon: c.dpo.cdpoEpsilon },
  };
}

/** The DPO-family trainer config of a run of the DPO family (cdpo: dpo with ε). */
export function dpoRunConfig(c: CanonicalConfig, r: RunSpec): DpoConfig {
  const { beta: _b, cdpoEpsilon, ...rest } = c.dpo;
  const lossType = DPO_LOSS[r.method];
  if (!lossType || r.beta === null) throw new RangeError(`${r.id} is not a DPO-family run`);
  return {
    ...rest,
    beta: r.beta,
    seed: r.seed,
    lossType,
    labelSmoothing: r.method === "cdpo" ? cdpoEpsilon : rest.labelSmoothing,
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
}

/** The kept policy checkpoint of a method run (in its stage dir, then its failure record). */
export const POLICY_CHECKPOINT = "policy.ckpt";
/** A checkpoint saved but not yet confirmed good by the next step (never published). */
const PENDING_CHECKPOINT = "policy.pending.ckpt";

/**
 * Files a published run directory may hold; anything else there is left alone. manifest.json
 * comes last: it is written when the rest is in place.
 */
export const RUN_FILES = [
  "config.json",
  "metrics.csv",
  "timings.csv",
  "summary.csv",
  "samples.jsonl",
  POLICY_CHECKPOINT,
  "manifest.json",
] as const;

/** The environment variable of {@link faultFromEnv}. */
export const FAULT_ENV = "RLHF_FAULT";

/**
 * The fault to inject, from `RLHF_FAULT=nan:<method or run id>:<step>` (unset or empty:
 * none). The only place the variable is read. A matching run's training sees a NaN loss
 * at that 0-based step (PPO: iteration), so it stops with a NumericalError there, exactly
 * as a diverging run would. For tests of the failure path; never set it for real runs.
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

/** The 0-based step at which `r` must fail under `fault`, if it is the target. */
function faultStepFor(fault: FaultSpec | undefined, r: RunSpec): number | undefined {
  if (!fault || (fault.target !== r.method && fault.target !== r.id)) return undefined;
  return fault.step;
}

/** What a run has produced so far, kept for its failure record. */
interface RunProgress {
  rows: MetricRow[];
  /** Steps done when `policy.ckpt` was last saved. */
  checkpointStep?: number;
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
  const faultStep = faultStepFor(faultFromEnv(), r);
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
      const progress: RunProgress = { rows: [] };
      try {
        const out = await trainAndEvaluate(c, up, r, { dir, faultStep, progress });
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
        };
        await writeRunMetrics(dir, out.rows);
        await writeCsvTable(aq.from([summary]), join(dir, "summary.csv"));
        // the trained policy is not kept on success: the checkpoint guards against failure
        await Deno.remove(join(dir, POLICY_CHECKPOINT)).catch(() => {});
        await Deno.remove(join(dir, PENDING_CHECKPOINT)).catch(() => {});
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
        // Publish the failure record (config, rows so far, last good checkpoint, manifest
        // with the error), then fail the stage, which discards its partial dir.
        try {
          await writeRunMetrics(dir, progress.rows);
          await Deno.remove(join(dir, "summary.csv")).catch(() => {});
          await Deno.remove(join(dir, "samples.jsonl")).catch(() => {});
          await writeManifest(
            join(dir, "manifest.json"),
            await buildManifest({
              backend,
              seed: r.seed,
              configHash,
              startedAt: started,
              status: "failed",
              error: e,
              ...(progress.checkpointStep !== undefined
                ? { checkpoint: { file: POLICY_CHECKPOINT, step: progress.checkpointStep } }
                : {}),
            }),
          );
          await publishRun(dir, join(publishRoot, r.id));
        } catch (pe) {
          log(`could not record the failure of ${r.id}: ${(pe as Error).message}`);
        }
        throw e;
      }
    },
  });
  await publishRun(res.dir, join(publishRoot, r.id));
  return res;
}

/**
 * Copy a run's files ({@link RUN_FILES} present in `from`) to its published directory `to`,
 * each atomically, and remove the known files `from` lacks (left by an older record).
 * Every file under `to` is always complete, the directory never disappears, and two
 * processes publishing the same run take turns (a lock beside `to`).
 */
export async function publishRun(from: string, to: string): Promise<void> {
  const lock = join(dirname(to), `.${basename(to)}.publish.lock`);
  await withLock(lock, async () => {
    await Deno.mkdir(to, { recursive: true });
    for (const f of RUN_FILES) {
      let bytes: Uint8Array | undefined;
      try {
        bytes = await Deno.readFile(join(from, f));
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      if (bytes) await writeBytesAtomic(join(to, f), bytes);
      else await Deno.remove(join(to, f)).catch(() => {});
    }
  }, { purpose: `publish ${basename(to)}` });
}

/** Step metrics to metrics.csv and their wall-clock columns (`perf/*`) to timings.csv. */
async function writeRunMetrics(dir: string, rows: readonly MetricRow[]): Promise<void> {
  const metrics: MetricRow[] = [];
  const timings: MetricRow[] = [];
  for (const row of rows) {
    const m: MetricRow = { step: row.step };
    const t: MetricRow = { step: row.step };
    for (const [k, v] of Object.entries(row)) (k.startsWith("perf/") ? t : m)[k] = v;
    metrics.push(m);
    if (Object.keys(t).length > 1) timings.push(t);
  }
  await writeMetrics(join(dir, "metrics.csv"), metrics.length ? metrics : [{ step: 0 }]);
  if (timings.length) await writeMetrics(join(dir, "timings.csv"), timings);
  else await Deno.remove(join(dir, "timings.csv")).catch(() => {});
}

/**
 * The failure recorded in a published run directory, if its manifest says it failed:
 * the error message and, when a checkpoint was kept, where and at which step.
 */
export async function readFailure(
  runDir: string,
): Promise<{ message: string; startedAt: string; checkpoint?: string } | undefined> {
  let m: Manifest;
  try {
    m = JSON.parse(await Deno.readTextFile(join(runDir, "manifest.json")));
  } catch {
    return undefined;
  }
  if (m.status !== "failed") return undefined;
  return {
    message: m.error?.message ?? "failed",
    startedAt: m.startedAt,
    ...(m.checkpoint
      ? { checkpoint: `${join(runDir, m.checkpoint.file)} (step ${m.checkpoint.step})` }
      : {}),
  };
}

/** Train the method (if it trains) and evaluate the result on held-out prompts. */
async function trainAndEvaluate(
  c: CanonicalConfig,
  up: Upstream,
  r: RunSpec,
  opts: { dir: string; faultStep?: number; progress: RunProgress },
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
      // A step's loss is computed before its update, so the weights saved after step d are
      // known good only once step d+1's metrics are finite too: save them as pending, and
      // promote them to policy.ckpt at the next finite step. A NaN at step k thus keeps
      // weights whose loss was finite, never the ones that produced the NaN.
      const { progress } = opts;
      const pending = join(opts.dir, PENDING_CHECKPOINT);
      let pendingStep: number | undefined;
      const afterStep = async (done: number) => {
        if (pendingStep !== undefined) {
          await Deno.rename(pending, join(opts.dir, POLICY_CHECKPOINT));
          progress.checkpointStep = pendingStep;
          pendingStep = undefined;
        }
        if (c.checkpointEvery <= 0 || done % c.checkpointEvery !== 0) return;
        await savePolicy(pending, policy, tokenizer.toJSON(), r, done);
        pendingStep = done;
      };
      const onRow = (row: MetricRow) => progress.rows.push(row);
      const disarm = opts.faultStep === undefined ? undefined : armNanFault(opts.faultStep);
      try {
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
            // PPO trains on the reward model and watches gold; PPO-GT the other way round.
            reward: r.method === "ppo" ? proxy : gold,
            rewardMetric: r.method === "ppo" ? "reward/proxy" : "reward/gold",
            monitors: r.method === "ppo" ? { "reward/gold": gold } : { "reward/proxy": proxy },
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
            onRow,
            afterStep,
          });
        } else {
          const table = await loadPreferences(join(up.prefs.dir, "prefs.csv"));
          const { train, val } = splitPreferences(table, c.prefs.valFraction, c.rm.seed);
          const res = await trainDpo({
            policy,
            ref,
            train: tokenPairs(data, train),
            val: tokenPairs(data, val),
            config: dpoRunConfig(c, r),
            progress: `${r.method} β=${r.beta}`,
            onRow,
            afterStep,
          });
          rows = res.rows;
        }
      } finally {
        disarm?.();
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

/** Save the policy being trained, with the run and the number of steps done. */
async function savePolicy(
  path: string,
  policy: CausalLM,
  tokenizer: unknown,
  r: RunSpec,
  step: number,
): Promise<void> {
  await saveCheckpoint(path, policy, { tokenizer, meta: { stage: "run", run: r.id, step } });
}

/**
 * Read a run's published summary row.
 * @throws FileFormatError naming the directory when it is not a finished run (missing,
 *   failed, or its summary.csv is corrupt).
 */
export async function readRunSummary(dir: string): Promise<Record<string, unknown>> {
  if (!(await Deno.stat(dir).then((s) => s.isDirectory, () => false))) {
    throw new FileFormatError(`run directory ${dir} does not exist`);
  }
  const failure = await readFailure(dir);
  if (failure) {
    throw new FileFormatError(`run ${dir} failed (${failure.message}); it has no summary`);
  }
  const row = (await readCsvTable(join(dir, "summary.csv"))).objects()[0];
  if (!row) throw new FileFormatError(`${join(dir, "summary.csv")} has no rows`);
  return row as Record<string, unknown>;
}
