/**
 * What a sweep refuses before any work, in one line: duplicated or aliased grid values,
 * impossible models, too large grids, a results path outside the allowed roots, a results
 * directory of another preset or that cannot be written; and what the machine refuses
 * (a full disk, a read-only file system) during a sweep, its plots or a merge, as one line
 * naming the path with nothing half-published.
 */
import { join } from "node:path";
import * as aq from "arquero";
import { MAX_RUNS_UNASKED, parseSweep } from "../experiments/sweep.ts";
import { executeSweep } from "../experiments/canonical/execute.ts";
import { checkSweep, SWEEP_RECORD } from "../experiments/canonical/preflight.ts";
import { summariseAndPlot } from "../experiments/canonical/summarise.ts";
import { longestFirst, resultsName } from "../experiments/canonical/plan.ts";
import { merge } from "../experiments/results_tools.ts";
import { writeShardSummary } from "../lib/sweep/shard_record.ts";
import { initBackend } from "../lib/backend/mod.ts";
import { ConfigError, KitError, ResourceError } from "../lib/util/errors.ts";
import { withFsFault } from "./_fs_fault.ts";
import { incompleteFiles } from "./_sweep_process.ts";
import {
  assert,
  assertEquals,
  assertGreater,
  assertRejects,
  assertStringIncludes,
} from "./assert.ts";

const req = async (...args: string[]) => (await parseSweep(["canonical", ...args]))!;
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

for (
  const [args, message] of [
    [["--seed", "1,1"], "--seed 1,1: 1 appears twice in the grid"],
    [["--ppo.beta", "0.1,0.10"], "0.1 appears twice in the grid"],
    [["--seed", "1,4294967297"], "seed must be an integer >= 0 and <= 4294967295"],
    [["--seed", "1e300"], "seed must be an integer >= 0 and <= 4294967295"],
    [["--ppo.beta", "1e-400"], "--ppo.beta 1e-400: 1e-400 underflows to 0 in double precision"],
    [["--prefs.prompts", "1"], "--prefs.prompts 1: prefs.prompts must be an integer >= 2"],
    [
      ["--results", "results/../../x"],
      '--results results/../../x: a path with ".." is not allowed',
    ],
  ] as const
) {
  Deno.test(`parseSweep(${args.join(" ")}) refuses it in one line before any work`, async () => {
    const e = await assertRejects(() => req("--preset", "tiny", ...args), ConfigError);
    assertStringIncludes(e.message, message);
    assert(!e.message.includes("\n"));
  });
}

Deno.test(`a grid of more than ${MAX_RUNS_UNASKED} runs needs --yes; --dry-run lists it`, async () => {
  const seeds = Array.from({ length: 120 }, (_, i) => i + 1).join(",");
  const e = await assertRejects(
    () => req("--preset", "tiny", "--seed", seeds),
    ConfigError,
    "this sweep plans 720 runs (ppo 240 (ppo.beta 2 × seed 120), dpo 240 (dpo.beta 2 × seed " +
      "120), bon 240 (bon.n 2 × seed 120)), more than 200; check them with --dry-run, and pass " +
      "--yes to run them",
  );
  assert(!e.message.includes("\n"));
  assertEquals((await req("--preset", "tiny", "--seed", seeds, "--yes")).plan.runs.length, 720);
  assertEquals((await req("--preset", "tiny", "--seed", seeds, "--dry-run")).plan.runs.length, 720);
});

Deno.test("--jobs above the core count is clamped with a one-line notice", async () => {
  const cores = navigator.hardwareConcurrency;
  const r = await req("--preset", "tiny", "--jobs", "1000");
  assertEquals(r.jobs, cores);
  assertEquals(r.notices, [
    `--jobs 1000 is more than the ${cores} logical cores of this machine; running ${cores} at a time`,
  ]);
  assertEquals((await req("--preset", "tiny", "--jobs", "1")).notices, []);
});

Deno.test("a non-default preset has its own results directory", () => {
  assertEquals(resultsName("canonical", "default"), "canonical");
  assertEquals(resultsName("canonical", "tiny"), "canonical_tiny");
});

for (const field of ["--model.dModel", "--model.context"]) {
  Deno.test(`checkSweep() refuses ${field} 100000 with the memory estimate, before any directory exists`, async () => {
    const results = await Deno.makeTempDir({ prefix: "preflight-" });
    const r = await req("--preset", "tiny", field, "100000", "--results", results);
    const e = await assertRejects(() => checkSweep(r), KitError);
    assertStringIncludes(e.message, `${field} 100000`);
    assert(/needs at least [\d.]+ TB of memory to train/.test(e.message), e.message);
    assertStringIncludes(e.message, "but this machine has ");
    assertEquals(await exists(join(results, "canonical_tiny")), false);
    await Deno.remove(results, { recursive: true });
  });
}

Deno.test("checkSweep() refuses a results directory that records another preset", async () => {
  const results = await Deno.makeTempDir({ prefix: "preflight-" });
  const r = await req("--preset", "tiny", "--results", results);
  await Deno.mkdir(join(results, "canonical_tiny"));
  await Deno.writeTextFile(
    join(results, "canonical_tiny", SWEEP_RECORD),
    JSON.stringify({ experiment: "canonical", preset: "quick" }),
  );
  await assertRejects(
    () => checkSweep(r),
    ConfigError,
    `${join(results, "canonical_tiny")} holds results of the canonical experiment at preset ` +
      `"quick" (its sweep.json), not of preset "tiny": give another --results directory`,
  );
  await Deno.remove(results, { recursive: true });
});

Deno.test("checkSweep() refuses a read-only or full results directory at start, naming it", async () => {
  const results = await Deno.makeTempDir({ prefix: "preflight-" });
  const r = await req("--preset", "tiny", "--results", results);
  const root = join(results, "canonical_tiny");
  for (const code of ["EROFS", "ENOSPC", "EACCES"] as const) {
    // the probe goes where the directory would be made: nothing is created
    const e = await withFsFault(
      { code, when: (p) => p.startsWith(results) },
      () => assertRejects(() => checkSweep(r), ResourceError),
    );
    assertStringIncludes(e.message, `cannot write ${root}: `);
    assertStringIncludes(e.message, `(${code})`);
  }
  await checkSweep(r); // and fine without the fault
  assertEquals(await exists(root), false);
  await Deno.remove(results, { recursive: true });
});

Deno.test("a full disk while plotting or merging is one ResourceError naming the file", async () => {
  const root = await Deno.makeTempDir({ prefix: "preflight-" });
  const table = aq.from([
    {
      run_id: "dpo__beta0.1__seed1__aaaaaaaa",
      method: "dpo",
      beta: 0.1,
      seed: 1,
      reward_gold: 0.2,
      kl: 0.1,
    },
    {
      run_id: "dpo__beta0.1__seed2__bbbbbbbb",
      method: "dpo",
      beta: 0.1,
      seed: 2,
      reward_gold: 0.3,
      kl: 0.2,
    },
  ]);
  const plots = join(root, "plots");
  const e = await withFsFault(
    { code: "ENOSPC", when: (p) => p.startsWith(plots) },
    () => assertRejects(() => summariseAndPlot(root, table, false), ResourceError),
  );
  assert(e.message.startsWith(`cannot write ${plots}`), e.message);
  assertStringIncludes(e.message, "no space left on the device (ENOSPC)");
  // merge: the summary.csv it writes
  await writeShardSummary(root, table, {
    gridRuns: table.array("run_id") as string[],
    index: 0,
    count: 1,
    failed: [],
  });
  const m = await withFsFault(
    { code: "ENOSPC", when: (p) => p.includes(".summary.csv.tmp") },
    () => assertRejects(() => merge(root), ResourceError),
  );
  assertEquals(
    m.message,
    `cannot write ${join(root, "summary.csv")}: no space left on the device (ENOSPC)`,
  );
  assertEquals(await exists(join(root, "summary.csv")), false);
  await Deno.remove(root, { recursive: true });
});

Deno.test({
  name:
    "a full disk during a sweep stops it with one line naming the file; nothing is half-published",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await initBackend("wasm");
    const results = await Deno.makeTempDir({ prefix: "preflight-" });
    const r = await req("--preset", "tiny", "--methods", "bon", "--results", results);
    const root = join(results, "canonical_tiny");
    // the sweep starts the longest run first: that one fails
    const [first, second] = longestFirst(r.plan.runs);
    const victim = join(root, first!.id);
    const logs: string[] = [];
    const e = await withFsFault(
      { code: "ENOSPC", when: (p) => p.startsWith(join(victim, ".summary.csv.tmp")) },
      () =>
        assertRejects(
          () => executeSweep({ ...r, jobs: 1, png: false, log: (m) => logs.push(m) }),
          ResourceError,
        ),
    );
    assertEquals(
      e.message,
      `cannot write ${join(victim, "summary.csv")}: no space left on the device (ENOSPC)`,
    );
    // the sweep stopped at once: the second run never started
    assert(!logs.some((l) => l.startsWith(`done ${second!.id}`)), logs.join("\n"));
    assertEquals(await exists(join(victim, "manifest.json")), false); // not published
    assertEquals(await incompleteFiles(root), []);
    // with space again the sweep finishes from the cache
    const again = await executeSweep({ ...r, jobs: 1, png: false, log: () => {} });
    assertEquals(again.failed, []);
    assertGreater(again.summary.numRows(), 1);
    await Deno.remove(results, { recursive: true });
  },
});

Deno.test("runCli() prints a full disk anywhere as one line naming the path, exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "preflight-" });
  const cli = new URL("../experiments/cli.ts", import.meta.url).href;
  const script = join(dir, "main.ts");
  await Deno.writeTextFile(
    script,
    `import { runCli } from ${JSON.stringify(cli)};
     await runCli(() => {
       throw Object.assign(new Error("No space left on device (os error 28): write '/data/x.ckpt'"),
         { code: "ENOSPC" });
     });`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 2);
  assertEquals(
    new TextDecoder().decode(out.stderr),
    "error: cannot write /data/x.ckpt: no space left on the device (ENOSPC)\n",
  );
  await Deno.remove(dir, { recursive: true });
});
