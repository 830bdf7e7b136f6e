/**
 * `deno task golden:update [name ...]`
 *
 * Reruns the golden reference runs of `tests/_golden_runs.ts` (tiny SFT, reward-model, PPO
 * and DPO trainings on the cpu backend) and rewrites `tests/golden/<name>.json`, printing
 * for each file whether it is new, unchanged, or what changed (per-step numbers, config,
 * versions). With names, only those runs. A changed golden file must be explained in the
 * commit that changes it: which change to the library (or Deno, or tfjs) moved the numbers
 * and why that is intended.
 *
 * @module
 */
import { writeTextAtomic } from "../lib/util/atomic_write.ts";
import {
  contextChanges,
  formatGolden,
  GOLDEN_RUNS,
  goldenPath,
  numericChanges,
  readGolden,
  recordGolden,
} from "../tests/_golden_runs.ts";

const USAGE = `usage: deno task golden:update [name ...]

Reruns the golden runs and rewrites tests/golden/<name>.json.
  name        only these runs (${GOLDEN_RUNS.map((r) => r.name).join(", ")}); default: all
  -h, --help  this text`;

/** Update the named runs (all when none); returns the exit code. */
async function main(args: string[]): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  const unknown = args.filter((a) => !GOLDEN_RUNS.some((r) => r.name === a));
  if (unknown.length) {
    console.error(`error: unknown golden run ${unknown.join(", ")}\n${USAGE}`);
    return 2;
  }
  let changed = 0;
  for (const run of GOLDEN_RUNS.filter((r) => !args.length || args.includes(r.name))) {
    const got = await recordGolden(run);
    const want = await readGolden(run.name);
    const path = goldenPath(run.name);
    const text = formatGolden(got);
    if (!want) {
      console.log(`${run.name}: new (${got.steps.length} steps) → ${path}`);
    } else {
      const diffs = [...numericChanges(want, got), ...contextChanges(want, got)];
      if (formatGolden(want) === text) {
        console.log(`${run.name}: unchanged`);
        continue;
      }
      console.log(`${run.name}: ${diffs.length ? "changed" : "reformatted"} → ${path}`);
      for (const d of diffs) console.log(`  ${d}`);
    }
    await writeTextAtomic(path, text);
    changed++;
  }
  if (changed) {
    console.log(
      `\n${changed} golden file(s) written. Explain in the commit message why the numbers ` +
        `changed (which change to the library, Deno or tfjs moved them, and why that is intended).`,
    );
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
