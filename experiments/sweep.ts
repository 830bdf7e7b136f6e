/**
 * `deno task sweep <experiment> [--preset NAME] [--field value[,value…] …] [--jobs N]
 *  [--shard i/n] [--results DIR] [--dry-run] [--help]`
 *
 * The command line of every sweep. For the canonical experiment: resolve the preset, apply
 * the command line (a single value pins a field, a comma list makes it a grid axis —
 * `--ppo.beta 0.05,0.1`, `--model.dModel 32,64`, `--seed 1,2,3`), plan every run and check
 * every point before any work (canonical/plan.ts), then execute (canonical/execute.ts).
 * The exact experiments take their own fields: `deno task sweep bandit` (experiments/bandit.ts)
 * and `deno task sweep token` (experiments/token.ts), each with `--help`.
 *
 * @module
 */
import { initBackend } from "../lib/backend/mod.ts";
import { parseOverrides } from "../lib/sweep/overrides.ts";
import type { GridAxis } from "../lib/sweep/grid.ts";
import { defaultJobs } from "../lib/sweep/pool.ts";
import { describeSchema } from "../lib/util/schema.ts";
import { formatTable } from "../lib/util/table_format.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { CANONICAL_SCHEMA } from "./canonical/config.ts";
import { CANONICAL_PRESETS, resolvePreset } from "./canonical/presets.ts";
import { planSweep, resultsName, type SweepPlan, valueAt } from "./canonical/plan.ts";
import { checkSweep, executeSweep, type SweepResult } from "./canonical/execute.ts";
import { runCli } from "./cli.ts";
import { BANDIT_SWEEP_SCHEMA, banditSweep, banditSweepConfig } from "./bandit.ts";
import { TOKEN_SWEEP_SCHEMA, tokenSweep, tokenSweepConfig, tokenSweepTask } from "./token.ts";

/** Experiments this entry point knows. */
export const EXPERIMENTS = ["canonical", "bandit", "token"] as const;

const USAGE = `usage: deno task sweep <experiment> [--preset NAME] [--field value[,value...] ...]
       [--jobs N] [--shard i/n] [--results DIR] [--dry-run] [--help]
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
  const preset = resolvePreset(presetName);
  const plan = await planSweep(preset, parsed.overrides, [
    ...pinned(parsed.overrides),
    ...parsed.grid,
  ]);
  return {
    experiment: resultsName(experiment, preset.name),
    plan,
    results: parsed.options.results ?? "results",
    jobs: parsed.options.jobs ?? Math.min(defaultJobs(), 2),
    dryRun: parsed.options.dryRun,
    ...(parsed.options.shard ? { shard: parsed.options.shard } : {}),
  };
}

/** Parse arguments and run; returns the sweep result (for `reproduce`). */
export async function sweepFromArgs(
  args: readonly string[],
  defaults: { experiment?: string; preset?: string } = {},
): Promise<SweepResult | undefined> {
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
    const axes = plan.axes.map((a) => `${a.path} (${a.values.length})`).join(" × ");
    console.log(
      `${plan.runs.length} runs (preset ${plan.preset}${axes ? `; grid ${axes}` : ""}):`,
    );
    for (const r of plan.runs) console.log(r.id);
    return undefined;
  }
  checkSweep(req);
  const backend = await initBackend();
  console.error(`backend: ${backend.backend} (${backend.device})`);
  const res = await executeSweep(req);
  printResult(res);
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

/** The short table and the paths of the plots. */
export function printResult(res: SweepResult): void {
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
  console.log(`summary: ${res.summaryPath}`);
  for (const p of res.plots?.html ?? []) console.log(`plot: ${p}`);
  for (
    const p of [...(res.plots?.png ?? []), ...(res.plots?.svg ?? []), ...(res.plots?.pdf ?? [])]
  ) {
    console.log(`image: ${p}`);
  }
  if (res.plots?.imagesSkipped) console.log(`no images: ${res.plots.imagesSkipped}`);
  if (res.failed.length) {
    console.log(`\n${res.failed.length} run(s) failed:`);
    for (const f of res.failed) console.log(`  ${f.run.id}: ${f.error}`);
  }
}

if (import.meta.main) {
  await runCli(async () => {
    const res = await sweepFromArgs(Deno.args);
    return res && res.failed.length ? 1 : 0;
  });
}
