/**
 * What a run leaves on disk (lib/sweep/run_record.ts): reading a published run back, with
 * a clear error for a directory that is not a finished run; the failure a manifest
 * records; publishing a run's files over an older record; the checkpoint kept as good.
 * And what publishing guarantees: a failure never replaces good results of the same id, a
 * full disk never leaves a half-published run, and nothing from the cache is published
 * without passing its checksums.
 */
import { join } from "node:path";
import { CheckpointKeeper, POLICY_CHECKPOINT } from "../lib/sweep/checkpoint_keeper.ts";
import { FAILURE_DIR, readFailure } from "../lib/sweep/run_failure.ts";
import { publishRun } from "../lib/sweep/publish_run.ts";
import {
  readRunSummary,
  type RecordedRunSpec,
  recordRun,
  type RunOutput,
} from "../lib/sweep/run_record.ts";
import { FileFormatError, NumericalError, ResourceError } from "../lib/util/errors.ts";
import { withFsFault } from "./_fs_fault.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";
import { checkRejections, withTempDir } from "./_bad_input.ts";

/** `<dir>/<name>` holding `files` (name → text); its path. */
async function dirWith(dir: string, name: string, files: Record<string, string>): Promise<string> {
  const path = join(dir, name);
  await Deno.mkdir(path, { recursive: true });
  for (const [f, text] of Object.entries(files)) await Deno.writeTextFile(join(path, f), text);
  return path;
}

const FAILED_MANIFEST = JSON.stringify({
  status: "failed",
  startedAt: "2026-01-01T00:00:00.000Z",
  error: { message: "loss/dpo is NaN at step 3" },
  checkpoint: { file: POLICY_CHECKPOINT, step: 2 },
});

Deno.test("readRunSummary() refuses a directory that is not a finished run, naming it", async (t) => {
  await withTempDir(async (dir) => {
    const noSummary = await dirWith(dir, "no-summary", { "config.json": "{}" });
    const failed = await dirWith(dir, "failed", { "manifest.json": FAILED_MANIFEST });
    const header = await dirWith(dir, "header-only", { "summary.csv": "run_id,kl\n" });
    const cut = await dirWith(dir, "cut", { "summary.csv": "run_id,kl,reward\nr1,0.5\n" });
    await checkRejections(t, [
      {
        name: "a missing directory",
        call: () => readRunSummary(join(dir, "no-run")),
        cls: FileFormatError,
        message: `run directory ${join(dir, "no-run")} does not exist`,
      },
      {
        name: "a directory without a summary",
        call: () => readRunSummary(noSummary),
        cls: FileFormatError,
        message: `cannot read table ${join(noSummary, "summary.csv")}: the file does not exist`,
      },
      {
        name: "a failed run's directory",
        call: () => readRunSummary(failed),
        cls: FileFormatError,
        message: `run ${failed} failed (loss/dpo is NaN at step 3); it has no summary`,
      },
      {
        name: "a summary without rows",
        call: () => readRunSummary(header),
        cls: FileFormatError,
        message: `${join(header, "summary.csv")} has no rows`,
      },
      {
        name: "a summary cut short",
        call: () => readRunSummary(cut),
        cls: FileFormatError,
        message: "line 2 has 2 fields but the header has 3",
      },
    ]);
  }, "run-record-");
});

Deno.test("readFailure() reads a failed run's message and kept checkpoint, nothing otherwise", async () => {
  await withTempDir(async (dir) => {
    const failed = await dirWith(dir, "failed", { "manifest.json": FAILED_MANIFEST });
    assertEquals(await readFailure(failed), {
      message: "loss/dpo is NaN at step 3",
      startedAt: "2026-01-01T00:00:00.000Z",
      checkpoint: `${join(failed, POLICY_CHECKPOINT)} (step 2)`,
    });
    const ok = await dirWith(dir, "ok", { "manifest.json": '{"status": "ok"}' });
    const corrupt = await dirWith(dir, "corrupt", { "manifest.json": '{"status": "fa' });
    for (const d of [ok, corrupt, join(dir, "none")]) assertEquals(await readFailure(d), undefined);
  }, "run-record-");
});

Deno.test("publishRun() copies a run's files and removes those an older record left", async () => {
  await withTempDir(async (dir) => {
    const to = join(dir, "published");
    const old = await dirWith(dir, "old", {
      "config.json": "{}",
      "manifest.json": FAILED_MANIFEST,
      [POLICY_CHECKPOINT]: "weights",
    });
    await publishRun(old, to);
    await Deno.writeTextFile(join(to, "notes.txt"), "a file the kit does not write");
    const fresh = await dirWith(dir, "fresh", {
      "config.json": '{"a": 1}',
      "summary.csv": "run_id\nr1\n",
      "manifest.json": '{"status": "ok"}',
    });
    await publishRun(fresh, to);
    const names = [];
    for await (const e of Deno.readDir(to)) names.push(e.name);
    // the checkpoint of the failed record is gone, the unknown file is left alone
    assertEquals(names.sort(), ["config.json", "manifest.json", "notes.txt", "summary.csv"]);
    assertEquals(await Deno.readTextFile(join(to, "config.json")), '{"a": 1}');
  }, "run-record-");
});

Deno.test("CheckpointKeeper keeps step d's weights only once step d + 1 was finite", async () => {
  await withTempDir(async (dir) => {
    const keeper = new CheckpointKeeper(dir, 2);
    const saved: number[] = [];
    keeper.save = async (path, step) => {
      saved.push(step);
      await Deno.writeTextFile(path, `step ${step}`);
    };
    const kept = () => Deno.readTextFile(join(dir, POLICY_CHECKPOINT)).catch(() => undefined);
    await keeper.afterStep(1);
    await keeper.afterStep(2); // saved, pending
    assertEquals([saved, keeper.keptStep, await kept()], [[2], undefined, undefined]);
    await keeper.afterStep(3); // step 3 finite: step 2's weights are good
    assertEquals([keeper.keptStep, await kept()], [2, "step 2"]);
    await keeper.afterStep(4); // saved, pending; step 2's stay kept
    assertEquals([saved, keeper.keptStep, await kept()], [[2, 4], 2, "step 2"]);
    await keeper.discard();
    assertEquals([...Deno.readDirSync(dir)], []);
  }, "run-record-");
});

const backend = () =>
  Promise.resolve({ backend: "cpu", requested: "cpu", device: "test", tfjs: "4.22.0" } as const);

/** A run spec writing into a fresh results dir; `body` trains (or fails). */
function spec(results: string, body: RecordedRunSpec["run"], logs: string[] = []): RecordedRunSpec {
  return {
    cacheRoot: join(results, ".cache"),
    publishDir: join(results, "dpo__beta0.1__seed1__0123abcd"),
    stage: "run-dpo",
    config: { beta: 0.1 },
    inputs: {},
    configFile: { run: { id: "dpo__beta0.1__seed1__0123abcd" } },
    seed: 1,
    backend,
    checkpointEvery: 0,
    log: (m) => logs.push(m),
    run: body,
  };
}

const good = (): Promise<RunOutput> =>
  Promise.resolve({
    rows: [{ step: 1, "loss/dpo": 0.5 }],
    summary: { run_id: "dpo__beta0.1__seed1__0123abcd", method: "dpo", reward_gold: 0.25 },
    samples: [{ kind: "eval", completion: "was good" }],
  });

const snapshot = async (dir: string) =>
  Object.fromEntries(
    await Promise.all(
      ["config.json", "metrics.csv", "summary.csv", "samples.jsonl", "manifest.json"].map(
        async (f) => [f, await Deno.readTextFile(join(dir, f))],
      ),
    ),
  );

Deno.test("a run that fails where good results of its id are published keeps them and records the failure beside them", async () => {
  const results = await Deno.makeTempDir({ prefix: "record-" });
  const logs: string[] = [];
  const first = await recordRun(spec(results, good, logs));
  const dir = join(results, "dpo__beta0.1__seed1__0123abcd");
  const before = await snapshot(dir);
  // the cache is lost (or failed its check), and this time training diverges
  await Deno.remove(first.dir, { recursive: true });
  const nan = () => Promise.reject(new NumericalError("loss/dpo", 3, NaN));
  await assertRejects(() => recordRun(spec(results, nan, logs)), NumericalError, "at step 3");
  assertEquals(await snapshot(dir), before, "the good files are untouched");
  assertEquals((await readRunSummary(dir)).reward_gold, 0.25);
  assertEquals(await readFailure(dir), undefined, "the run is not a failed one");
  const kept = await readFailure(dir, { kept: true });
  assertEquals([kept?.message, kept?.kept], ["loss/dpo is NaN at step 3", true]);
  const recorded = JSON.parse(await Deno.readTextFile(join(dir, FAILURE_DIR, "manifest.json")));
  assertEquals(recorded.status, "failed");
  assertStringIncludes(logs.join("\n"), `failed again; its published results are kept`);
  // a later good run of the id removes the stale failure record
  await recordRun(spec(results, good, logs));
  assertEquals(await Deno.stat(join(dir, FAILURE_DIR)).then(() => true, () => false), false);
  await Deno.remove(results, { recursive: true });
});

Deno.test("a failure with no good results published is published as the run's record", async () => {
  const results = await Deno.makeTempDir({ prefix: "record-" });
  const nan = () => Promise.reject(new NumericalError("loss/dpo", 0, NaN));
  await assertRejects(() => recordRun(spec(results, nan)), NumericalError);
  const dir = join(results, "dpo__beta0.1__seed1__0123abcd");
  assertEquals((await readFailure(dir))?.message, "loss/dpo is NaN at step 0");
  await assertRejects(() => readRunSummary(dir), FileFormatError, "it has no summary");
  await Deno.remove(results, { recursive: true });
});

Deno.test("a full disk while publishing: one ResourceError naming the file, the run is not published, a rerun publishes it", async () => {
  const results = await Deno.makeTempDir({ prefix: "record-" });
  const dir = join(results, "dpo__beta0.1__seed1__0123abcd");
  // an older record of this run is published (another backend gave other numbers)
  await recordRun(spec(results, good));
  await Deno.remove(join(results, ".cache"), { recursive: true });
  const other = () => good().then((o) => ({ ...o, summary: { ...o.summary, reward_gold: 0.5 } }));
  const e = await withFsFault(
    {
      code: "ENOSPC",
      when: (p) => p.startsWith(join(dir, ".summary.csv.tmp")),
    },
    () => assertRejects(() => recordRun(spec(results, other)), ResourceError),
  );
  assertEquals(
    e.message,
    `cannot write ${join(dir, "summary.csv")}: no space left on the device (ENOSPC)`,
  );
  // half of it is new, so it is not committed: no manifest, and readers refuse it
  assertEquals(await Deno.stat(join(dir, "manifest.json")).then(() => true, () => false), false);
  await assertRejects(() => readRunSummary(dir), FileFormatError, "is not a finished run");
  // with space again, the cached run is published whole
  await recordRun(spec(results, other));
  assertEquals((await readRunSummary(dir)).reward_gold, 0.5);
  await Deno.remove(results, { recursive: true });
});

Deno.test("a cached file that no longer matches its checksum is never published", async () => {
  const results = await Deno.makeTempDir({ prefix: "record-" });
  const res = await recordRun(spec(results, good));
  const dir = join(results, "dpo__beta0.1__seed1__0123abcd");
  const before = await snapshot(dir);
  await Deno.writeTextFile(join(res.dir, "summary.csv"), "run_id,reward_gold\nx,99\n");
  await Deno.remove(join(dir, "manifest.json")); // force a republish
  await assertRejects(
    () => publishRun(res.dir, dir, { verify: true }),
    FileFormatError,
    `${join(res.dir, "summary.csv")} does not match the SHA-256 its stage recorded`,
  );
  assertEquals(await Deno.readTextFile(join(dir, "summary.csv")), before["summary.csv"]);
  // through recordRun, the stage fails its check, is recomputed, and the good run published
  const again = await recordRun(spec(results, good));
  assert(!again.cached);
  assertEquals(await snapshot(dir).then((s) => s["summary.csv"]), before["summary.csv"]);
  await Deno.remove(results, { recursive: true });
});
