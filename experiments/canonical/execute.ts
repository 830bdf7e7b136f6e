/**
 * Execute a planned sweep (plan.ts): check what can be checked before any work, then the
 * upstream stages of every distinct chain in this process, then the runs of this shard —
 * in this process (`jobs` 1) or in worker processes (worker.ts) — then the summary tables
 * and plots. Failed runs are reported at the end, with their error and kept checkpoint;
 * the others still finish. A machine error (a full disk, a read-only file system) stops
 * the sweep at once with one line naming the path.
 *
 * Before any work ({@link checkSweep}): the results path, that it is writable, the
 * preset its directory records (`sweep.json`), the memory each model config needs to
 * train against the machine's, and `RLHF_FAULT`. Right after each data stage (seconds,
 * before any model trains): that the prompts asked for exist and that the vocabulary holds
 * words the gold reward scores.
 *
 * Two sweeps may share a results directory: each stage and each run is computed by one
 * process while the other waits for its lock and then reuses the result
 * (lib/sweep/lock.ts), and the summary is rebuilt under a lock from every published run
 * that belongs to the sweep (collect.ts), so both sweeps' runs end up in it. PNG plots take
 * seconds each (a headless Chromium); `RLHF_PNG=0` skips them.
 *
 * @module
 */
import { join } from "node:path";
import * as aq from "arquero";
import { type CanonicalConfig, modelOf } from "./config.ts";
import { collectSummary, summaryTable } from "./collect.ts";
import type { PlannedRun, SweepPlan } from "./plan.ts";
import { executeRun, faultFromEnv } from "./run.ts";
import { dataStage, readData } from "./stages/data.ts";
import { runUpstream, type Upstream } from "./stages/upstream.ts";
import { readJson, writeJson } from "../../lib/sweep/json_file.ts";
import { withLock } from "../../lib/sweep/lock.ts";
import { checkUserPath } from "../../lib/sweep/paths.ts";
import { readFailure, readRunSummary } from "../../lib/sweep/run_record.ts";
import { readRunCurves } from "../../lib/sweep/run_tables.ts";
import { runPool, spawnDeno } from "../../lib/sweep/pool.ts";
import { KIT_ENV_VARS, KIT_PROGRAMS, SWEEP_SYS_KINDS } from "../../lib/sweep/permissions.ts";
import { checkMemory, checkWritable, trainingMemory } from "../../lib/sweep/resources.ts";
import { type Shard, shardItems, writeShardSummary } from "../../lib/sweep/shard.ts";
import { writeCsvTable } from "../../lib/sweep/results_table.ts";
import { sweepTempFiles } from "../../lib/sweep/temp_files.ts";
import { groupRuns } from "./analysis.ts";
import { reportFigures, writePlots, type WrittenPlots } from "../../lib/plot/report.ts";
import { goldReward } from "../../lib/rewards/mod.ts";
import { SPECIAL_TOKENS } from "../../lib/data/special_tokens.ts";
import { ConfigError, KitError, ResourceError, resourceError } from "../../lib/util/errors.ts";

/** How to run a planned sweep. */
export interface ExecuteOptions {
  /** Experiment name: results go to `<results>/<experiment>/`. */
  experiment: string;
  /** The planned runs. */
  plan: SweepPlan;
  /** Results root (default `results`). */
  results: string;
  /** Parallel worker processes for the runs (1: in this process). */
  jobs: number;
  /** Run only this shard of the runs. */
  shard?: Shard;
  /** Write PNGs beside the HTML plots when a Chromium exists. */
  png?: boolean;
  /** Progress messages (default: stderr). */
  log?: (m: string) => void;
}

/** What a sweep leaves behind. */
export interface SweepResult {
  /** `<results>/<experiment>`. */
  root: string;
  /** The runs of this shard. */
  runs: PlannedRun[];
  /** Runs that failed, with their error. */
  failed: { run: PlannedRun; error: string }[];
  /**
   * One row per finished run: of the directory's runs that belong to this sweep
   * (unsharded), or of this shard's runs (sharded).
   */
  summary: aq.ColumnTable;
  /** Where `summary` was written. */
  summaryPath: string;
  /** Run directories of `root` left out of the summary, with why (unsharded sweeps). */
  dropped: { id: string; reason: string }[];
  /** Means and 95% intervals over seeds (unsharded sweeps). */
  grouped?: aq.ColumnTable;
  /** The plots written (unsharded sweeps). */
  plots?: WrittenPlots;
}

/** The record of an experiment's results directory: which experiment and preset. */
export interface SweepRecord {
  /** The experiment, e.g. `canonical`. */
  experiment: string;
  /** The preset its sweeps start from. */
  preset: string;
}

/** File name of the {@link SweepRecord} in a results directory. */
export const SWEEP_RECORD = "sweep.json";

/**
 * Checks that need no work, so a sweep fails at once rather than after its upstream stages
 * (or hours of runs): the results path (no `..`), that this process may and can write it
 * (it is created), that its directory records this sweep's preset, that every model config
 * of the plan fits the machine's memory, and that `RLHF_FAULT`, when set, names a method
 * or run of this sweep.
 * @throws ConfigError naming the problem; ResourceError naming a directory that cannot be
 *   written; KitError with a model's memory estimate and the machine's memory.
 */
export async function checkSweep(
  o: Pick<ExecuteOptions, "experiment" | "plan" | "results">,
): Promise<void> {
  checkUserPath(o.results, "--results");
  const root = join(o.results, o.experiment);
  const write = Deno.permissions.querySync({ name: "write", path: root }).state;
  if (write !== "granted") {
    throw new ConfigError(
      `--results ${o.results}: this process may not write to ${root} ` +
        `(deno task sweep and reproduce write only under results/ and /tmp)`,
    );
  }
  const fault = faultFromEnv();
  if (fault && !o.plan.runs.some((r) => r.method === fault.target || r.id === fault.target)) {
    throw new ConfigError(
      `RLHF_FAULT targets ${JSON.stringify(fault.target)}, which is not a method or run of ` +
        `this sweep (methods: ${o.plan.base.methods.join(", ")})`,
    );
  }
  checkModelMemory(o.plan);
  const recorded = await readJson<SweepRecord>(join(root, SWEEP_RECORD)).catch(() => undefined);
  const experiment = o.experiment.split("_")[0]!;
  if (recorded && (recorded.preset !== o.plan.preset || recorded.experiment !== experiment)) {
    throw new ConfigError(
      `${root} holds results of the ${recorded.experiment} experiment at preset ` +
        `${JSON.stringify(recorded.preset)} (its ${SWEEP_RECORD}), not of preset ` +
        `${JSON.stringify(o.plan.preset)}: give another --results directory`,
    );
  }
  await checkWritable(root);
}

/**
 * Refuse a plan whose model cannot train on this machine: for every distinct config, the
 * training memory lower bound (lib/sweep/resources.ts) of each stage's batch — LM
 * pretraining and SFT, the reward model (chosen and rejected), the DPO family (chosen and
 * rejected, beside a frozen reference) and PPO (a value model and the reference beside
 * the policy) — must fit in the machine's memory.
 */
function checkModelMemory(plan: SweepPlan): void {
  const seen = new Set<string>();
  for (const r of plan.runs) {
    const c = r.config;
    const id = JSON.stringify([modelOf(c), c.base, c.sft, c.rm, c.dpo, c.ppo, c.methods]);
    if (seen.has(id)) continue;
    seen.add(id);
    const m = modelOf(c);
    const stages: [string, number, number][] = [
      ["base LM", c.base.batchSize, 0],
      ["SFT", c.sft.batchSize, 0],
      ["reward model", 2 * c.rm.batchSize, 0],
    ];
    if (c.methods.some((x) => x !== "bon" && !x.startsWith("ppo"))) {
      stages.push(["DPO", 2 * c.dpo.batchSize, 1]);
    }
    if (c.methods.some((x) => x.startsWith("ppo"))) stages.push(["PPO", c.ppo.minibatchSize, 5]);
    for (const [stage, batch, frozen] of stages) {
      checkMemory(
        `the model --model.dModel ${m.dModel} --model.nLayers ${m.nLayers} --model.nHeads ` +
          `${m.nHeads} --model.context ${m.context} (vocabulary ${m.vocabSize}) in its ${stage} ` +
          `stage at batch ${batch}`,
        trainingMemory(m, batch, frozen),
      );
    }
  }
}

/**
 * Checks of a data stage's output that the config alone cannot decide (they depend on the
 * corpus), made before any model trains: a word-level vocabulary must hold a word that the
 * gold reward scores (else every completion ties and there is no preference to learn).
 * Byte-level BPE can spell any text, so it always can.
 * @throws ConfigError naming `data.vocabSize`.
 */
export async function checkData(c: CanonicalConfig, dataDir: string): Promise<void> {
  // completions differ in length whatever the words; BPE spells every word byte by byte
  if (c.gold === "length" || c.data.tokenizer !== "word") return;
  const { tokenizer } = await readData(dataDir);
  const words: string[] = [];
  for (let id = SPECIAL_TOKENS.length; id < tokenizer.vocabSize; id++) {
    words.push(tokenizer.decode([id]));
  }
  const gold = goldReward(c.gold);
  const base = gold.score("", "");
  const scores = gold.scoreBatch(words.map(() => ""), words);
  if (!scores.some((s) => s !== base)) {
    throw new ConfigError(
      `--data.vocabSize ${c.data.vocabSize}: none of the ${words.length} words of its ` +
        `vocabulary changes the ${c.gold} gold reward, so every pair of completions would ` +
        `tie and there is no preference to learn; use a larger --data.vocabSize`,
    );
  }
}

/** Run (or resume) the sweep. */
export async function executeSweep(o: ExecuteOptions): Promise<SweepResult> {
  const log = o.log ?? ((m: string) => console.error(m));
  await checkSweep(o);
  const root = join(o.results, o.experiment);
  const cache = join(root, ".cache");
  await sweepTempFiles(root, { log });
  await Deno.mkdir(cache, { recursive: true });
  const record: SweepRecord = { experiment: o.experiment.split("_")[0]!, preset: o.plan.preset };
  if (!(await Deno.stat(join(root, SWEEP_RECORD)).then(() => true, () => false))) {
    await writeJson(join(root, SWEEP_RECORD), record);
  }
  log(`results: ${root}`);
  const runs = o.shard ? shardItems(o.plan.runs, o.shard.index, o.shard.count) : o.plan.runs;
  // The data stages first (seconds), so what only the corpus can tell fails before any
  // model trains; then one upstream chain per distinct reward-model key (its key covers
  // every stage before it).
  const data = new Map<string, Promise<void>>();
  for (const r of runs) {
    if (data.has(r.upstream.data)) continue;
    const p = (async () => {
      let d;
      try {
        d = await dataStage(cache, r.config, log);
      } catch (e) {
        if (!(e instanceof ConfigError) || !/makePrompts/.test(e.message)) throw e;
        throw new ConfigError(
          `--data.trainPrompts ${r.config.data.trainPrompts} / --data.evalPrompts ` +
            `${r.config.data.evalPrompts}: ${e.message}`,
        );
      }
      await checkData(r.config, d.dir);
    })();
    data.set(r.upstream.data, p);
    await p;
  }
  const chains = new Map<string, Promise<Upstream>>();
  const upstreamOf = async (r: PlannedRun): Promise<Upstream> => {
    let u = chains.get(r.upstream.rm);
    if (!u) chains.set(r.upstream.rm, u = runUpstream(cache, r.config, log));
    return await u;
  };
  for (const r of runs) await upstreamOf(r);
  log(`${runs.length} of ${o.plan.runs.length} runs in this shard, ${o.jobs} at a time`);

  const jobDir = join(cache, "jobs");
  await Deno.mkdir(jobDir, { recursive: true });
  const runOne = async (r: PlannedRun): Promise<void> => {
    const upstream = await upstreamOf(r);
    if (o.jobs === 1) {
      await executeRun(cache, root, r, upstream, log);
      return;
    }
    const job = join(jobDir, `${r.id}.json`);
    await Deno.remove(`${job}.error.json`).catch(() => {});
    await writeJson(job, { cache, root, run: r, upstream });
    const code = await spawnDeno([new URL("./worker.ts", import.meta.url).pathname, job], {
      // The worker writes only under this experiment's results (and temp files); every
      // other permission it gets is narrowed to this process's own.
      permissions: [
        "--allow-read",
        `--allow-write=${root},/tmp`,
        ...workerPermissions(),
      ],
      prefix: r.id.slice(0, r.id.lastIndexOf("__")),
    });
    if (code !== 0) {
      const err = await readJson<WorkerError>(`${job}.error.json`).catch(() => undefined);
      if (err?.name === "ResourceError" && err.path && err.code) {
        throw new ResourceError(err.path, err.code, err.message);
      }
      throw new KitError(err?.message ?? `worker exited with code ${code}`);
    }
  };

  // A full disk or a read-only file system stops the sweep: every other run would fail too.
  const abort = new AbortController();
  const report = await runPool(runs, {
    jobs: o.jobs,
    signal: abort.signal,
    run: async (r) => {
      const since = new Date().toISOString();
      try {
        await runOne(r);
      } catch (e) {
        const machine = resourceError(e);
        if (machine) {
          abort.abort();
          throw machine;
        }
        // Report the run's own error (a worker only says its exit code) and what it kept.
        const failure = await readFailure(join(root, r.id), { kept: true });
        if (!failure || failure.startedAt < since) throw e;
        throw new KitError(
          failure.message +
            (failure.checkpoint ? `; last good checkpoint: ${failure.checkpoint}` : "") +
            (failure.kept ? `; its earlier results are kept, this failure is in failure/` : ""),
        );
      }
    },
    onSettled: (r, _i, e) => log(`${e ? "FAILED" : "done"} ${r.id}${e ? `: ${e.message}` : ""}`),
  });
  const fatal = report.failed.find((f) => f.error instanceof ResourceError);
  if (fatal) throw fatal.error;
  const failed = report.failed.map((f) => ({ run: f.task, error: f.error.message }));

  if (o.shard) {
    const done = runs.filter((r) => !report.failed.some((f) => f.task === r));
    const rows = await Promise.all(done.map(async (r) => ({
      row: await readRunSummary(join(root, r.id)),
      labels: r.labels,
      config: r.config,
    })));
    const summary = rows.length ? summaryTable(rows) : aq.table({});
    await writeShardSummary(root, summary, {
      gridRuns: o.plan.runs.map((r) => r.id),
      index: o.shard.index,
      count: o.shard.count,
      failed: report.failed.map((f) => f.task.id),
    });
    const summaryPath = join(root, `summary.shard-${o.shard.index}-of-${o.shard.count}.csv`);
    return { root, runs, failed, summary, summaryPath, dropped: [] };
  }
  const summaryPath = join(root, "summary.csv");
  // Under a lock, so two sweeps into one directory take turns and the later one sees
  // every run both published.
  return await withLock(join(root, ".summary.lock"), async () => {
    const { table: summary, dropped } = await collectSummary(root, o.plan);
    const out: SweepResult = { root, runs, failed, summary, summaryPath, dropped };
    if (dropped.length) {
      log(`summary: left out ${dropped.length} run director(ies) of ${root}:`);
      for (const d of dropped.slice(0, 10)) log(`  ${d.id}: ${d.reason}`);
      if (dropped.length > 10) log(`  … and ${dropped.length - 10} more`);
    }
    if (summary.numRows() === 0) return out;
    await writeCsvTable(summary, summaryPath);
    return Object.assign(out, await summariseAndPlot(root, summary, o.png));
  }, { purpose: "summary", log });
}

/** What a worker leaves beside its job file when it fails (`<job>.error.json`). */
export interface WorkerError {
  /** Error class name. */
  name: string;
  /** Its message. */
  message: string;
  /** For a ResourceError: the path. */
  path?: string;
  /** For a ResourceError: the OS error code. */
  code?: string;
}

/** The env, sys and run permissions of a worker: the kit's (narrowed at spawn). */
function workerPermissions(): string[] {
  return [
    `--allow-env=${KIT_ENV_VARS.join(",")}`,
    `--allow-sys=${SWEEP_SYS_KINDS.join(",")}`,
    `--allow-run=${KIT_PROGRAMS.join(",")}`,
  ];
}

/**
 * Group over seeds, write `summary_by_method.csv`, and draw the plots of an experiment.
 * @throws ResourceError naming the path when the disk is full or read-only (every file is
 *   written atomically: what exists is whole).
 */
export async function summariseAndPlot(
  root: string,
  summary: aq.ColumnTable,
  png = Deno.env.get("RLHF_PNG") !== "0",
  title = root.split("/").filter(Boolean).pop() ?? "experiment",
): Promise<{ grouped: aq.ColumnTable; plots: WrittenPlots }> {
  const grouped = groupRuns(summary);
  try {
    await writeCsvTable(grouped, join(root, "summary_by_method.csv"));
    const curves = await readRunCurves(root, summary.array("run_id") as string[]);
    const ids = summary.array("run_id") as string[];
    const methods = summary.array("method") as string[];
    const methodOf = new Map(ids.map((id, i) => [id, methods[i]!]));
    const figs = reportFigures(grouped, {
      title,
      metrics: curves?.derive({
        method: aq.escape((d: { run_id: string }) => methodOf.get(d.run_id) ?? ""),
      }),
      units: { gold: "VADER compound" },
    });
    const plots = await writePlots(join(root, "plots"), figs, { images: png });
    return { grouped, plots };
  } catch (e) {
    throw resourceError(e) ?? e; // a full disk while plotting: one line naming the path
  }
}
