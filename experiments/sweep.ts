/**
 * `deno task sweep <experiment> [--preset NAME] [--field value[,value…] …] [--jobs N]
 *  [--shard i/n] [--results DIR] [--dry-run] [--yes] [--help]`
 *
 * The command line of every sweep. For the canonical experiment: resolve the preset, apply
 * the command line (a single value pins a field, a comma list makes it a grid axis —
 * `--ppo.beta 0.05,0.1`, `--model.dModel 32,64`, `--seed 1,2,3`), plan every run and check
 * every point before any work (canonical/plan.ts), then execute (canonical/execute.ts).
 * A grid of more than {@link MAX_RUNS_UNASKED} runs needs `--yes`; `--jobs` above the core
 * count is clamped, with a notice.
 *
 * The exact experiments take their own fields: `deno task sweep bandit` (experiments/bandit.ts)
 * and `deno task sweep token` (experiments/token.ts), each with `--help`.
 *
 * @module
 */
import { initBackend } from "../lib/backend/mod.ts";
import { parseOverrides } from "../lib/sweep/overrides.ts";
import type { GridAxis } from "../lib/sweep/grid.ts";
import { clampJobs, defaultJobs } from "../lib/sweep/pool.ts";
import { checkUserPath } from "../lib/sweep/paths.ts";
import { describeSchema } from "../lib/util/schema.ts";
import { formatTable } from "../lib/util/table_format.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { formatSeconds } from "../lib/util/progress.ts";
import { CANONICAL_SCHEMA } from "./canonical/config_schema.ts";
import { runTimeLine, runTimeTable, stageTimeTable } from "./canonical/sweep_manifest.ts";
import { CANONICAL_PRESETS, resolvePreset } from "./canonical/presets.ts";
import { describePlan, planSweep, resultsName, type SweepPlan, valueAt } from "./canonical/plan.ts";
import { executeSweep, type SweepResult } from "./canonical/execute.ts";
import { checkSweep } from "./canonical/preflight.ts";
import { runCli } from "./cli.ts";
import { BANDIT_SWEEP_SCHEMA, banditSweep, banditSweepConfig } from "./bandit.ts";
import { TOKEN_SWEEP_SCHEMA, tokenSweep, tokenSweepConfig, tokenSweepTask } from "./token.ts";

/** Experiments this entry point knows. */
export const EXPERIMENTS = ["canonical", "bandit", "token"] as const;

/** A grid of more runs than this is run only with `--yes` (each run takes minutes). */
export const MAX_RUNS_UNASKED = 200;

const USAGE = `usage: deno task sweep <experiment> [--preset NAME] [--field value[,value...] ...]
       [--jobs N] [--shard i/n] [--results DIR] [--dry-run] [--yes] [--help]
experiments: ${EXPERIMENTS.join(", ")}; presets: ${Object.keys(CANONICAL_PRESETS).join(", ")}`;
/** The usage on one line, for error messages (which are one line). */
const USAGE_LINE = USAGE.replace(/\s*\n\s*/g, "; ");

/** A parsed and planned canonical sweep, before any work. */
export interface SweepRequest {
  /** Results directory name: `<experiment>` or `<experiment>_<preset>` (plan.ts). */
  experiment: string;
  /** The planned runs. */
  plan: SweepPlan;
  /** Results root. */
  results: string;
  /** Worker processes. */
  jobs: number;
  /** Only list the runs. */
  dryRun: boolean;
  /** The shard to run, if any. */
  shard?: { index: number; count: number };
  /** One-line notices to print before the sweep (e.g. `--jobs` clamped). */
  notices: string[];
}

/** Flatten nested single-valued overrides into one-valued axes (dotted paths). */
function pinned(obj: Record<string, unknown>, prefix = ""): GridAxis[] {
  const out: GridAxis[] = [];
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v)) {
      out.push(...pinned(v as Record<string, unknown>, path));
    } else out.push({ path, values: [v] });
  }
  return out;
}

/**
 * Parse a canonical sweep's command line and plan it; undefined when `--help` was shown.
 * @throws ConfigError for any bad argument, value or combination, before any work.
 */
export async function parseSweep(
  args: readonly string[],
  defaults: { experiment?: string; preset?: string } = {},
): Promise<SweepRequest | undefined> {
  const parsed = parseOverrides(args, CANONICAL_SCHEMA);
  const presetName = parsed.options.preset ?? defaults.preset ?? "default";
  if (parsed.options.help) {
    console.log(helpText(presetName));
    return undefined;
  }
  const experiment = parsed.positional[0] ?? defaults.experiment;
  if (!experiment) throw new ConfigError(`no experiment named; ${USAGE_LINE}`);
  if (experiment !== "canonical") {
    throw new ConfigError(
      `unknown experiment ${JSON.stringify(experiment)}; known: ${EXPERIMENTS.join(", ")}`,
    );
  }
  if (parsed.positional.length > 1) {
    throw new ConfigError(
      `unexpected argument ${JSON.stringify(parsed.positional[1])}; ${USAGE_LINE}`,
    );
  }
  const results = checkUserPath(parsed.options.results ?? "results", "--results");
  const preset = resolvePreset(presetName);
  const plan = await planSweep(preset, parsed.overrides, [
    ...pinned(parsed.overrides),
    ...parsed.grid,
  ]);
  if (plan.runs.length > MAX_RUNS_UNASKED && !parsed.options.yes && !parsed.options.dryRun) {
    throw new ConfigError(
      `this sweep plans ${plan.runs.length} runs (${describePlan(plan)}), more than ` +
        `${MAX_RUNS_UNASKED}; check them with --dry-run, and pass --yes to run them`,
    );
  }
  const { jobs, notice } = clampJobs(parsed.options.jobs ?? Math.min(defaultJobs(), 2));
  return {
    experiment: resultsName(experiment, preset.name),
    plan,
    results,
    jobs,
    dryRun: parsed.options.dryRun,
    ...(parsed.options.shard ? { shard: parsed.options.shard } : {}),
    notices: notice ? [notice] : [],
  };
}

/** Parse arguments and run; returns the sweep result (for `reproduce`). */
export async function sweepFromArgs(
  args: readonly string[],
  defaults: { experiment?: string; preset?: string; runTimes?: boolean } = {},
): Promise<SweepResult | undefined> {
  const t0 = performance.now();
  if (args[0] === "bandit") {
    await banditFromArgs(args.slice(1));
    return undefined;
  }
  if (args[0] === "token") {
    await tokenFromArgs(args.slice(1));
    return undefined;
  }
  const req = await parseSweep(args, defaults);
  if (!req) return undefined;
  const { plan } = req;
  if (req.dryRun) {
    console.log(`${plan.runs.length} runs (preset ${plan.preset}: ${describePlan(plan)}):`);
    for (const r of plan.runs) console.log(r.id);
    return undefined;
  }
  for (const n of req.notices) console.error(n);
  await checkSweep(req);
  const backend = await initBackend();
  console.error(`backend: ${backend.backend} (${backend.device})`);
  const res = await executeSweep(req);
  printResult(res, { runTimes: defaults.runTimes, seconds: (performance.now() - t0) / 1000 });
  return res;
}

/** `deno task sweep canonical --help`: usage, presets and what they set, every field. */
function helpText(presetName: string): string {
  const preset = resolvePreset(presetName);
  const presets = Object.entries(CANONICAL_PRESETS).map(([name, p]) => {
    const set = pinned(p.set as Record<string, unknown>)
      .map((a) => `${a.path}=${JSON.stringify(a.values[0])}`);
    const grid = Object.entries(p.grid).map(([k, v]) => `${k}=${v.join(",")}`);
    return `  ${name}: ${p.doc}${p.extends ? ` (extends ${p.extends})` : ""}\n` +
      `    sets: ${set.join(" ") || "nothing"}\n    grid: ${grid.join(" ") || "none"}`;
  });
  const fields = describeSchema(CANONICAL_SCHEMA).map((line) => {
    const path = line.split(" — ")[0]!;
    const axis = preset.grid.find((a) => a.path === path);
    const value = axis ? axis.values.join(",") : JSON.stringify(valueAt(preset.config, path));
    return `  --${line} [${presetName}: ${value}]`;
  });
  return `${USAGE}\n\nA single value pins a field; a comma list makes it a grid axis (any field).\n\n` +
    `presets:\n${presets.join("\n")}\n\nconfig fields (with the ${presetName} preset's value):\n` +
    fields.join("\n");
}

/** `deno task sweep bandit [--beta 0.1,1] [--seed 1,2] [--methods ppo,dpo]`. */
async function banditFromArgs(args: readonly string[]): Promise<void> {
  const parsed = parseOverrides(args, BANDIT_SWEEP_SCHEMA);
  if (parsed.options.help) {
    console.log(
      "usage: deno task sweep bandit [--key value ...]\n" +
        describeSchema(BANDIT_SWEEP_SCHEMA).map((l) => `  --${l}`).join("\n"),
    );
    return;
  }
  if (parsed.grid.length) throw new ConfigError(`--${parsed.grid[0]!.path} takes a single value`);
  if (parsed.positional.length) {
    throw new ConfigError(`unexpected argument ${JSON.stringify(parsed.positional[0])}`);
  }
  const c = banditSweepConfig(parsed.overrides);
  await initBackend();
  const root = `${parsed.options.results ?? "results"}/bandit`;
  const res = await banditSweep(c, { root });
  console.log(
    formatTable(res.summary, {
      columns: ["method", "beta", "seed", "reward_gold", "target_reward", "kl", "target_kl"],
      digits: 4,
    }),
  );
  for (const p of res.plots?.html ?? []) console.log(`plot: ${p}`);
  for (const p of res.plots?.png ?? []) console.log(`png: ${p}`);
}

/**
 * `deno task sweep token [--beta 0.1,0.5,2] [--seed 1,2,3] [--methods ppo,grpo]
 * [--task file.json]`: the token-level exact sweep (experiments/token.ts).
 */
async function tokenFromArgs(args: readonly string[]): Promise<void> {
  const parsed = parseOverrides(args, TOKEN_SWEEP_SCHEMA);
  if (parsed.options.help) {
    console.log(
      "usage: deno task sweep token [--key value ...]\n" +
        describeSchema(TOKEN_SWEEP_SCHEMA).map((l) => `  --${l}`).join("\n"),
    );
    return;
  }
  if (parsed.grid.length) throw new ConfigError(`--${parsed.grid[0]!.path} takes a single value`);
  if (parsed.positional.length) {
    throw new ConfigError(`unexpected argument ${JSON.stringify(parsed.positional[0])}`);
  }
  const c = tokenSweepConfig(parsed.overrides);
  const task = await tokenSweepTask(c); // a bad task file fails before any work
  const backend = await initBackend();
  console.error(`backend: ${backend.backend} (${backend.device})`);
  const root = `${parsed.options.results ?? "results"}/token`;
  const png = Deno.env.get("RLHF_PNG") !== "0";
  const res = await tokenSweep(c, { root, png }, { task, log: (m) => console.error(m) });
  console.log(
    formatTable(res.grouped, {
      columns: [
        "method",
        "beta",
        "n_runs",
        "reward_gold_mean",
        "oracle_reward",
        "predicted_reward",
        "kl_mean",
        "oracle_kl",
        "predicted_kl",
        "kl_gap_mean",
        "kl_off_mean",
      ],
      digits: 4,
    }),
  );
  console.log(`summary: ${root}/summary.csv`);
  for (const p of res.plots?.html ?? []) console.log(`plot: ${p}`);
  for (const p of res.plots?.png ?? []) console.log(`png: ${p}`);
}

/** Options of {@link printResult}. */
export interface PrintOptions {
  /** Also print each run's status and seconds (`deno task reproduce` does). */
  runTimes?: boolean;
  /** The whole command's wall time, printed last. */
  seconds?: number;
}

/**
 * What a sweep leaves on the terminal at its end: the summary table (means over seeds at
 * 3 significant digits), where the summary, report, plots and images are, which runs
 * failed, where the time went (stages, runs, and with `runTimes` each run) and the total
 * wall time.
 */
export function printResult(res: SweepResult, opts: PrintOptions = {}): void {
  const t = res.grouped ?? res.summary;
  if (t.numRows()) {
    const cols = [
      "method",
      "beta",
      "n",
      "n_seeds",
      "reward_gold_mean",
      "reward_proxy_mean",
      "kl_mean",
      "distinct_2_mean",
    ]
      .filter((c) => t.columnNames().includes(c));
    console.log("\n" + formatTable(t, { columns: cols }));
  }
  console.log(
    `summary: ${res.summaryPath}` +
      (res.dropped.length ? ` (${res.dropped.length} run director(ies) left out, see above)` : ""),
  );
  if (res.report) console.log(`report: ${res.report}`);
  for (const p of res.plots?.html ?? []) console.log(`plot: ${p}`);
  const images = [...(res.plots?.png ?? []), ...(res.plots?.svg ?? []), ...(res.plots?.pdf ?? [])];
  if (images.length) {
    const dir = images[0]!.slice(0, images[0]!.lastIndexOf("/"));
    console.log(
      `images: ${images.length} in ${dir} (${
        [...new Set(images.map((p) => p.slice(p.lastIndexOf(".") + 1)))].join(", ")
      }; paper and slide sizes)`,
    );
  }
  if (res.plots?.imagesSkipped) console.log(`no images: ${res.plots.imagesSkipped}`);
  if (res.failed.length) {
    console.log(`\n${res.failed.length} run(s) failed:`);
    for (const f of res.failed) console.log(`  ${f.run.id}: ${f.error}`);
  }
  const m = res.manifest;
  if (m.stages.length) console.log(`\nupstream stages:\n${formatTable(stageTimeTable(m))}`);
  console.log(`\n${runTimeLine(m)}`);
  if (opts.runTimes && m.runs.length) console.log(formatTable(runTimeTable(m)));
  if (opts.seconds !== undefined) console.log(`total wall time: ${formatSeconds(opts.seconds)}`);
}

if (import.meta.main) {
  await runCli(async () => {
    const res = await sweepFromArgs(Deno.args);
    return res && res.failed.length ? 1 : 0;
  });
}
