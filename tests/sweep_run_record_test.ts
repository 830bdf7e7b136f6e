/**
 * What a run leaves on disk (lib/sweep/run_record.ts): reading a published run back, with
 * a clear error for a directory that is not a finished run; the failure a manifest
 * records; publishing a run's files over an older record; the checkpoint kept as good.
 */
import { join } from "node:path";
import {
  CheckpointKeeper,
  POLICY_CHECKPOINT,
  publishRun,
  readFailure,
  readRunSummary,
} from "../lib/sweep/run_record.ts";
import { FileFormatError } from "../lib/util/errors.ts";
import { assertEquals } from "./assert.ts";
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
