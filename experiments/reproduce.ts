/**
 * `deno task reproduce [--preset default] [overrides]`: the canonical experiment end to
 * end — SFT, preferences, reward model, PPO / PPO-GT / DPO / IPO / best-of-n over their β
 * and n grids — leaving results, plots and `report.html` under `results/canonical/`, and
 * printing where the time went: each upstream stage (cached, or its seconds), each run's
 * seconds, their sum and wall time, and the total wall time.
 *
 * @module
 */
import { sweepFromArgs } from "./sweep.ts";
import { runCli } from "./cli.ts";

if (import.meta.main) {
  await runCli(async () => {
    const res = await sweepFromArgs(Deno.args, {
      experiment: "canonical",
      preset: "default",
      runTimes: true,
    });
    return res && res.failed.length ? 1 : 0;
  });
}
