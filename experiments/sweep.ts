/**
 * `deno task sweep <experiment> [--preset quick|default|full] [--key value ...]
 *  [--jobs N] [--shard i/n] [--results DIR] [--dry-run]`
 *
 * Runs an experiment's sweep: cached upstream stages, then its grid of method runs,
 * then summary tables and plots under `results/<experiment>/`. `--ppo.beta 0.05,0.1` sets
 * a β grid, `--seed 1,2,3` the seeds; any config field can be overridden.
 *
 * @module
 */
import { initBackend } from "../lib/backend/mod.ts";
import { expandGrid, parseOverrides } from "../lib/sweep/overrides.ts";
import { defaultJobs } from "../lib/sweep/pool.ts";
import { describeSchema } from "../lib/util/schema.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { CANONICAL_PRESETS, CANONICAL_SCHEMA, canonicalConfig } from "./canonical/config.ts";
import { checkSweep, sweep, type SweepResult } from "./canonical/sweep.ts";
import { enumerateRuns } from "./canonical/runs.ts";
import { runCli } from "./cli.ts";
import { BANDIT_SWEEP_SCHEMA, banditSweep, banditSweepConfig } from "./bandit.ts";

/** Experiments this entry point knows. */
export const EXPERIMENTS = ["canonical", "bandit"] as const;

const USAGE =
  `usage: deno task sweep <experiment> [--preset NAME] [--key value ...] [--jobs N] [--shard i/n]
experiments: ${EXPERIMENTS.join(", ")}; presets: ${Object.keys(CANONICAL_PRESETS).join(", ")}`;
/** The usage on one line, for error messages (which are one line). */
const USAGE_LINE = USAGE.replace(/\n/g, "; ");

/** Parse arguments and run; returns the sweep result (for `reproduce`). */
export async function sweepFromArgs(
  args: readonly string[],
  defaults: { experiment?: string; preset?: string } = {},
): Promise<SweepResult | undefined> {
  if (args[0] === "bandit") {
    await banditFromArgs(args.slice(1));
    return undefined;
  }
  const parsed = parseOverrides(args, CANONICAL_SCHEMA);
  if (parsed.options.help) {
    console.log(
      USAGE + "\n\nconfig fields:\n" +
        describeSchema(CANONICAL_SCHEMA).map((l) => `  --${l}`).join("\n"),
    );
    return undefined;
  }
  const experiment = parsed.positional[0] ?? defaults.experiment;
  if (!experiment) throw new ConfigError(`no experiment named; ${USAGE_LINE}`);
  if (!(EXPERIMENTS as readonly string[]).includes(experiment)) {
    throw new ConfigError(
      `unknown experiment ${JSON.stringify(experiment)}; known: ${EXPERIMENTS.join(", ")}`,
    );
  }
  if (parsed.positional.length > 1) {
    throw new ConfigError(
      `unexpected argument ${JSON.stringify(parsed.positional[1])}; ${USAGE_LINE}`,
    );
  }
  const preset = parsed.options.preset ?? defaults.preset ?? "default";
  const base = canonicalConfig(preset, parsed.overrides);
  if (parsed.grid.length) {
    throw new ConfigError(
      `--${
        parsed.grid[0]!.path
      } got several values, but only list fields (seed, methods, ppo.beta, dpo.beta, bon.n) take a grid here`,
    );
  }
  const [config] = expandGrid(base, []);
  const jobs = parsed.options.jobs ?? Math.min(defaultJobs(), 2);
  if (parsed.options.dryRun) {
    for (const r of enumerateRuns(experiment, config!)) console.log(r.id);
    return undefined;
  }
  const results = parsed.options.results ?? "results";
  checkSweep({ experiment, config: config!, results });
  const backend = await initBackend();
  console.error(`backend: ${backend.backend} (${backend.device})`);
  const res = await sweep({
    experiment,
    config: config!,
    results,
    jobs,
    shard: parsed.options.shard,
  });
  printResult(res);
  return res;
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
    res.summary.select("method", "beta", "seed", "reward_gold", "target_reward", "kl", "target_kl")
      .toMarkdown({ digits: 4 } as never),
  );
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
      "n_runs",
      "reward_gold_mean",
      "reward_proxy_mean",
      "kl_mean",
      "distinct_2_mean",
    ]
      .filter((c) => t.columnNames().includes(c));
    console.log("\n" + t.select(cols).toMarkdown({ digits: 3 } as never));
  }
  console.log(`summary: ${res.summaryPath}`);
  for (const p of res.plots?.html ?? []) console.log(`plot: ${p}`);
  for (const p of res.plots?.png ?? []) console.log(`png: ${p}`);
  if (res.plots?.pngSkipped) console.log(`no PNGs: ${res.plots.pngSkipped}`);
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
