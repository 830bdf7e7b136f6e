/**
 * `deno task reproduce [--preset default] [overrides]`: the canonical experiment end to
 * end — SFT, preferences, reward model, PPO / PPO-GT / DPO / IPO / best-of-n over their β
 * and n grids — leaving results and plots under `results/canonical/`.
 *
 * @module
 */
import { sweepFromArgs } from "./sweep.ts";
import { runCli } from "./cli.ts";

if (import.meta.main) {
  await runCli(async () => {
    const t0 = performance.now();
    const res = await sweepFromArgs(Deno.args, { experiment: "canonical", preset: "default" });
    if (res) console.log(`wall time: ${((performance.now() - t0) / 60000).toFixed(1)} min`);
    return res && res.failed.length ? 1 : 0;
  });
}
