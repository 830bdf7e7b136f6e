/**
 * `deno task merge`, `plots` and `compare` work on saved results only; on missing or
 * corrupt results they stop with exit code 2 and one line naming the file and the problem,
 * and write nothing. (A merge that rebuilds a sharded sweep's summary: shard_merge_test.ts.)
 */
import { join } from "node:path";
import { checkRefusedCommands, withTempDir } from "./_bad_input.ts";

/** Write `files` (name → text) into `dir`, creating it; `dir`. */
async function dirWith(dir: string, files: Record<string, string>): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) await Deno.writeTextFile(join(dir, f), text);
  return dir;
}

Deno.test("deno task merge refuses a directory without good shard summaries", async () => {
  await withTempDir(async (dir) => {
    const empty = await dirWith(join(dir, "empty"), {});
    const noIds = await dirWith(join(dir, "no-ids"), {
      "summary.shard-0-of-2.csv": "method,kl\ndpo,1\n",
      "summary.shard-1-of-2.csv": "method,kl\nppo,2\n",
    });
    await checkRefusedCommands("merge", [
      { args: [empty], message: `${empty} has no summary.shard-*.csv files to merge` },
      {
        args: [join(dir, "nowhere")],
        message: `${join(dir, "nowhere")} is not a results directory`,
      },
      {
        // shard summaries without the records their shards write (an older kit)
        args: [noIds],
        message: `cannot merge ${noIds}: summary.shard-0-of-2.csv has no ` +
          `summary.shard-0-of-2.json record (an older kit, a shard killed while writing it, ` +
          `or copied without it): rerun shard 0/2; `,
        partial: true,
      },
      {
        args: [empty, noIds],
        message: "usage: deno task merge <experiment results dir> [--allow-partial]",
      },
    ], { untouched: [join(empty, "summary.csv"), join(noIds, "summary.csv")] });
  }, "results-tools-");
});

Deno.test("deno task plots refuses a directory without a summary", async () => {
  await withTempDir(async (dir) => {
    await checkRefusedCommands("plots", [
      {
        args: [join(dir, "nowhere")],
        message: `${
          join(dir, "nowhere", "summary.csv")
        } does not exist: run a sweep (or deno task merge) first`,
      },
      { args: [], message: "usage: deno task plots <results dir> [--single-file]" },
    ], { untouched: [join(dir, "nowhere")] });
  }, "results-tools-");
});

Deno.test("deno task compare refuses missing or corrupt results and writes no report", async () => {
  await withTempDir(async (dir) => {
    const summary =
      "run_id,method,beta,reward_gold,kl\nppo__beta0.1__seed1__0a1b2c3d,ppo,0.1,0.5,1\n";
    const corrupt = await dirWith(join(dir, "corrupt"), {
      "summary.csv": summary,
      "config.json": "{ not json",
    });
    const sweep = await dirWith(join(dir, "sweep"), { "summary.csv": summary });
    const noSummary = await dirWith(join(dir, "no-summary"), {});
    const out = join(dir, "report.html");
    await checkRefusedCommands("compare", [
      {
        args: [corrupt, sweep, "--out", out],
        message: `${join(corrupt, "config.json")} is not valid JSON: `,
        partial: true,
      },
      {
        args: [noSummary, sweep, "--out", out],
        message: `${noSummary} has no summary.csv: give a run or experiment results directory`,
      },
      { args: [sweep, sweep, "--out", out], message: "compare: a directory is given twice" },
      {
        args: ["--out", out],
        message: "usage: deno task compare <run-or-experiment dirs...> [--label a,b] " +
          "[--out FILE] [--single-file]",
      },
      { args: [sweep, "--out"], message: "--out needs a file name" },
      { args: [sweep, "--label"], message: "--label needs a,b,…" },
      {
        args: [sweep, corrupt, "--label", "a", "--out", out],
        message: "--label a: give one non-empty label per directory (2 directories, 1 label)",
      },
      {
        args: [sweep, noSummary, "--label", "a,a", "--out", out],
        message: "--label a,a: the labels must differ",
      },
    ], { untouched: [out] });
  }, "results-tools-");
});
