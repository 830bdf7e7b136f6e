/**
 * Run ids and results paths from files and flags are checked before anything is written
 * (lib/sweep/paths.ts): a crafted `config.json`, job file or summary cannot make the kit
 * write outside its results roots.
 */
import { join } from "node:path";
import { checkRunId, checkUserPath, isRunId } from "../lib/sweep/paths.ts";
import { ConfigError, FileFormatError } from "../lib/util/errors.ts";
import { ROOT, runDeno, runTask } from "./_subprocess.ts";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./assert.ts";

Deno.test("isRunId() takes plain run names and refuses paths", () => {
  for (const ok of ["ppo__beta0.05__seed1__3fa29c1e", "bon__n4__seed1__a9172500", "x+y=z-1"]) {
    assert(isRunId(ok), ok);
  }
  for (const bad of ["", ".", "..", "../x", "a/b", "/abs", "a..b", ".hidden", "-x", "a\0b", 7]) {
    assert(!isRunId(bad), JSON.stringify(bad));
  }
  assertThrows(
    () => checkRunId("../../x", "job.json: run.id"),
    FileFormatError,
    'job.json: run.id: "../../x" is not a run id (letters, digits and _ . + = -, no "..", not a path)',
  );
});

Deno.test("checkUserPath() refuses '..' parts, empty paths and NUL bytes", () => {
  assertEquals(checkUserPath("results", "--results"), "results");
  assertEquals(checkUserPath("/tmp/a/b", "--results"), "/tmp/a/b");
  for (const bad of ["results/../../x", "..", "a/../b", "../results"]) {
    assertThrows(
      () => checkUserPath(bad, "--results"),
      ConfigError,
      `--results ${bad}: a path with ".."`,
    );
  }
  assertThrows(() => checkUserPath("", "--out"), ConfigError, '--out must be a path, got ""');
});

Deno.test("deno task rerun refuses a crafted run id in config.json and writes nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "paths-rerun-" });
  const run = join(dir, "canonical", "ppo__beta0.1__seed1__00000000");
  await Deno.mkdir(run, { recursive: true });
  const target = join(dir, "pwned");
  await Deno.writeTextFile(
    join(run, "config.json"),
    JSON.stringify({ run: { id: `../../${target}`, method: "ppo" }, experimentConfig: {} }),
  );
  const out = await runTask("rerun", [run]);
  assertEquals(out.code, 2, out.stderr);
  assertStringIncludes(out.stderr, "is not a run id");
  assertEquals(await Deno.stat(target).then(() => true, () => false), false);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a worker refuses a job file whose run id is a path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "paths-job-" });
  const job = join(dir, "job.json");
  await Deno.writeTextFile(
    job,
    JSON.stringify({ cache: dir, root: dir, run: { id: "../../etc/x" }, upstream: {} }),
  );
  const out = await runDeno([
    "run",
    "--allow-read",
    `--allow-write=${dir}`,
    "--allow-env",
    join(ROOT, "experiments/canonical/worker.ts"),
    job,
  ]);
  assertEquals(out.code, 1);
  assertEquals(
    out.stderr.trim(),
    `error: ${job}: run.id: "../../etc/x" is not a run id (letters, digits and _ . + = -, no "..", not a path)`,
  );
  const err = JSON.parse(await Deno.readTextFile(`${job}.error.json`));
  assertEquals(err.name, "FileFormatError");
  await Deno.remove(dir, { recursive: true });
});
