/**
 * `deno task rerun <run dir>` refuses a bad command line or a directory that is not a
 * finished run before any work: exit code 2 and one line naming the file and the problem.
 * (A rerun that reproduces, and one that finds a difference: reproducibility_test.ts.)
 */
import { join } from "node:path";
import { parseSweep } from "../experiments/sweep.ts";
import { checkRefusedCommands, type RefusedCommand, withTempDir } from "./_bad_input.ts";

const USAGE = "usage: deno task rerun <run dir> [--reuse-upstream] [--keep]";

/** config.json of the tiny preset's first run, as a sweep writes it, with `edit` applied. */
async function runConfigJson(
  edit: (c: { run: Record<string, unknown>; experimentConfig: Record<string, unknown> }) => void =
    () => {},
): Promise<{ id: string; text: string }> {
  const r = (await parseSweep(["canonical", "--preset", "tiny"]))!.plan.runs[0]!;
  const c = {
    run: { id: r.id, method: r.method, labels: r.labels } as Record<string, unknown>,
    runConfig: r.runConfig,
    experimentConfig: structuredClone(r.config) as unknown as Record<string, unknown>,
  };
  edit(c);
  return { id: r.id, text: JSON.stringify(c) };
}

/** A directory `<dir>/<name>/<id>` holding `files`; its path. */
async function runDir(
  dir: string,
  name: string,
  id: string,
  files: Record<string, string>,
): Promise<string> {
  const path = join(dir, name, id);
  await Deno.mkdir(path, { recursive: true });
  for (const [f, text] of Object.entries(files)) await Deno.writeTextFile(join(path, f), text);
  return path;
}

Deno.test("deno task rerun refuses a bad command line or run directory with one clear line", async () => {
  await withTempDir(async (dir) => {
    const good = await runConfigJson();
    const unfinished = await runDir(dir, "unfinished", good.id, { "config.json": good.text });
    const noConfig = await runDir(dir, "no-config", good.id, {});
    const corrupt = await runDir(dir, "corrupt", good.id, { "config.json": '{"run": {"id"' });
    const notARun = await runDir(dir, "not-a-run", good.id, { "config.json": "[1, 2]" });
    const badValue = await runDir(dir, "bad-value", good.id, {
      "config.json": (await runConfigJson((c) => {
        (c.experimentConfig.ppo as Record<string, unknown>).lr = -1;
      })).text,
    });
    const otherSeed = await runDir(dir, "other-seed", good.id, {
      "config.json": (await runConfigJson((c) => c.experimentConfig.seed = 9)).text,
    });
    const withId = (name: string, id: unknown) =>
      runConfigJson((c) => c.run.id = id).then((c) =>
        runDir(dir, name, good.id, { "config.json": c.text })
      );
    const upwards = await withId("id-up", "../../etc");
    const slashed = await withId("id-slash", "ppo/beta0.1");
    const numeric = await withId("id-number", 7);
    const badMethod = await runDir(dir, "bad-method", good.id, {
      "config.json": (await runConfigJson((c) => c.run.method = "orpo")).text,
    });
    const file = join(dir, "a-file");
    await Deno.writeTextFile(file, "not a directory");
    const cfg = (d: string) => join(d, "config.json");

    const cases: RefusedCommand[] = [
      { args: [], message: `no run directory given; ${USAGE}` },
      { args: [unfinished, notARun], message: `2 run directories given; ${USAGE}` },
      { args: [unfinished, "--fast"], message: `unknown option "--fast"; ${USAGE}` },
      {
        args: [join(dir, "nowhere")],
        message: `run directory ${join(dir, "nowhere")} does not exist`,
      },
      { args: [file], message: `${file} is not a run directory` },
      {
        args: [unfinished],
        message: `${
          join(unfinished, "summary.csv")
        } does not exist: ${good.id} did not finish (see its manifest.json)`,
      },
      { args: [noConfig], message: `${cfg(noConfig)} cannot be read: `, partial: true },
      { args: [corrupt], message: `${cfg(corrupt)} is not valid JSON: `, partial: true },
      {
        args: [notARun],
        message: `${
          cfg(notARun)
        } is not a run config: it needs "run" and "experimentConfig" (written by a sweep)`,
      },
      { args: [badValue], message: `${cfg(badValue)}: ppo.lr must be a number > 0, got -1` },
      // the id names the directory the rerun writes: never a path
      { args: [upwards], message: `${cfg(upwards)}: run.id "../../etc" is not a run id` },
      { args: [slashed], message: `${cfg(slashed)}: run.id "ppo/beta0.1" is not a run id` },
      { args: [numeric], message: `${cfg(numeric)}: run.id 7 is not a run id` },
      {
        args: [badMethod],
        message: `${
          cfg(badMethod)
        }: run.method "orpo" is not one of ppo, ppo_gt, grpo, dr_grpo, rloo, online_dpo, dpo, cdpo, ipo, hinge, simpo, kto, bon`,
      },
      {
        // a config edited after the run: its key no longer matches the id
        args: [otherSeed],
        message: `${cfg(otherSeed)}: run id "${good.id}" does not end in its config's key `,
        partial: true,
      },
    ];
    await checkRefusedCommands("rerun", cases);
  }, "rerun-");
});
