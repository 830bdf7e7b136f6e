/**
 * Numerical faults: a NaN in a loss or a reward stops training with a NumericalError naming
 * the quantity and the step; a method run keeps its last good checkpoint and records the
 * failure in its manifest; the sweep finishes the other runs and reports the failed ones.
 *
 * The sweep tests inject the NaN with `RLHF_FAULT=nan:<method or run id>:<step>`
 * (experiments/canonical/run.ts); the unit tests provoke real ones (a learning rate of
 * 1e30, a reward of NaN).
 */
import { join } from "node:path";
import { initBackend } from "../lib/backend/mod.ts";
import { CausalLM } from "../lib/models/causal_lm.ts";
import { ScalarModel } from "../lib/models/scalar_head.ts";
import { loadCheckpoint } from "../lib/models/checkpoint.ts";
import { modelConfig } from "../lib/models/config.ts";
import { sftConfig, trainSft } from "../lib/train/sft.ts";
import { ppoConfig } from "../lib/train/ppo_config.ts";
import { trainPpo } from "../lib/train/ppo.ts";
import { checkFinite } from "../lib/train/metrics.ts";
import { armNanFault, parseFault } from "../lib/train/_fault.ts";
import { readCsvTable } from "../lib/sweep/results_table.ts";
import type { Manifest } from "../lib/sweep/manifest.ts";
import { ConfigError, NumericalError } from "../lib/util/errors.ts";
import { runSweep, tinyRunIds } from "./_sweep_process.ts";
import { checkRejections, withTempDir } from "./_bad_input.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";

await initBackend("wasm");

const small = modelConfig({
  vocabSize: 20,
  dModel: 8,
  nLayers: 1,
  nHeads: 2,
  context: 10,
  dropout: 0,
});

Deno.test("checkFinite names the quantity and the step; an armed fault fires once", () => {
  assertEquals(checkFinite("loss/dpo", 0.5, 3), 0.5);
  const e = assertThrowsNumerical(() => checkFinite("reward/score", Infinity, 7));
  assertEquals([e.quantity, e.step, e.message], [
    "reward/score",
    7,
    "reward/score is Infinity at step 7",
  ]);
  const disarm = armNanFault(2);
  try {
    assertEquals(checkFinite("loss/dpo", 0.5, 1), 0.5); // another step
    assertEquals(checkFinite("train/grad_norm", 0.5, 2), 0.5); // not a loss
    const f = assertThrowsNumerical(() => checkFinite("loss/dpo", 0.5, 2));
    assertEquals(f.message, "loss/dpo is NaN at step 2");
    assertEquals(checkFinite("loss/dpo", 0.5, 2), 0.5); // one shot
  } finally {
    disarm();
  }
  assertEquals(parseFault("nan:dpo__beta0.1__seed1__0a1b2c3d:12"), {
    kind: "nan",
    target: "dpo__beta0.1__seed1__0a1b2c3d",
    step: 12,
  });
});

Deno.test("parseFault() names the variable and the form it takes", async (t) => {
  const form = "RLHF_FAULT must be nan:<method or run id>:<step> (e.g. nan:dpo:3), got";
  await checkRejections(
    t,
    [
      ["another fault kind", "inf:dpo:1"],
      ["no step", "nan:dpo"],
      ["a negative step", "nan:dpo:-1"],
      ["no target", "nan::3"],
      ["a path as the target", "nan:../dpo:3"],
    ].map(([name, spec]) => ({
      name: name!,
      call: () => parseFault(spec!, "RLHF_FAULT"),
      cls: ConfigError,
      message: `${form} ${JSON.stringify(spec)}`,
    })),
  );
});

function assertThrowsNumerical(fn: () => unknown): NumericalError {
  try {
    fn();
  } catch (e) {
    assert(e instanceof NumericalError, `expected a NumericalError, got ${e}`);
    return e;
  }
  throw new Error("expected a NumericalError");
}

Deno.test("a diverging learning rate stops SFT at the first NaN loss; only finite steps are reported", async () => {
  const model = CausalLM.create(small, 1);
  const train = Array.from({ length: 16 }, (_, i) => [1, 4 + (i % 10), 5, 6, 2]);
  const done: number[] = [];
  const e = await assertRejects(
    () =>
      trainSft({
        model,
        train,
        config: sftConfig({
          steps: 10,
          batchSize: 4,
          lr: 1e30, // the first update throws the weights so far that the next loss is NaN
          minLr: 0,
          warmupSteps: 0,
          gradClip: 0,
          evalEvery: 0,
          logEvery: 1,
        }),
        afterStep: (n) => void done.push(n),
        progress: false,
      }),
    NumericalError,
  );
  assertEquals(e.message, "loss/sft is NaN at step 1");
  assertEquals([(e as NumericalError).quantity, (e as NumericalError).step], ["loss/sft", 1]);
  assertEquals(done, [1]);
  model.dispose();
});

Deno.test("a NaN reward stops PPO before any update, naming reward/score and the iteration", async () => {
  const policy = CausalLM.create(small, 1);
  const ref = policy.clone(false);
  const value = ScalarModel.fromLM(policy, 2);
  const done: number[] = [];
  const e = await assertRejects(
    () =>
      trainPpo({
        policy,
        ref,
        value,
        reward: (prompts) => Promise.resolve(new Float32Array(prompts.length).fill(NaN)),
        prompts: [[1, 5, 6], [1, 7]],
        config: ppoConfig({ iterations: 2, rolloutBatch: 4, maxNewTokens: 3, minibatchSize: 4 }),
        afterStep: (n) => void done.push(n),
        progress: false,
      }),
    NumericalError,
    "reward/score is NaN at step 0",
  );
  assertEquals((e as NumericalError).quantity, "reward/score");
  assertEquals(done, []);
  for (const m of [policy, ref, value]) m.dispose();
});

const readManifest = async (dir: string): Promise<Manifest> =>
  JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

/** Directories under `<exp>/.cache/<stage>/`: committed keys and leftovers. */
async function cacheEntries(root: string, stage: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(root, ".cache", stage))) out.push(e.name);
  return out.sort();
}

Deno.test({
  name: "a NaN in one run of a sweep: it stops, keeps its last good checkpoint, the others finish",
  sanitizeResources: false,
  fn: () =>
    withTempDir(async (results) => {
      const root = join(results, "canonical_tiny");
      const grid = ["--ppo.beta", "0.1", "--bon.n", "4", "--checkpointEvery", "1"];
      const ids = await tinyRunIds(grid);
      const failing = ids["dpo 0.1"]!;
      const others = [ids["ppo 0.1"]!, ids["dpo 1"]!, ids["bon 4"]!];

      // 1. parallel workers; the NaN at step 3 of one DPO run
      const a = await runSweep(results, [...grid, "--jobs", "2"], {
        env: { RLHF_FAULT: `nan:${failing}:3` },
      });
      assertEquals(a.code, 1, a.stderr);
      const dir = join(root, failing);
      const reported = `${failing}: loss/dpo is NaN at step 3; last good checkpoint: ` +
        `${join(dir, "policy.ckpt")} (step 2)`;
      assertStringIncludes(a.stdout, `1 run(s) failed:\n  ${reported}\n`);
      assertStringIncludes(a.stderr, `FAILED ${reported}`);
      for (const id of others) {
        assertStringIncludes(a.stderr, `done ${id} · trained in `);
        assertEquals((await readManifest(join(root, id))).status, "ok");
      }
      const summary = await readCsvTable(join(root, "summary.csv"));
      assertEquals((summary.array("run_id") as string[]).sort(), [...others].sort());

      // the failure record: manifest, config, rows so far and the checkpoint of step 2
      const m = await readManifest(dir);
      assertEquals(m.status, "failed");
      assertEquals(m.error, {
        name: "NumericalError",
        message: "loss/dpo is NaN at step 3",
        step: 3,
        quantity: "loss/dpo",
      });
      // every 1 step: step 3's weights produced the NaN, so step 2's are the last good ones
      assertEquals(m.checkpoint, { file: "policy.ckpt", step: 2 });
      const { model, header } = await loadCheckpoint(join(dir, "policy.ckpt"), { kind: "lm" });
      assertEquals(header.meta, { stage: "run", run: failing, step: 2 });
      model.dispose();
      assertEquals((await readCsvTable(join(dir, "metrics.csv"))).array("step"), [2]);
      assertEquals(await exists(join(dir, "config.json")), true);
      assertEquals(await exists(join(dir, "summary.csv")), false);
      // the failed stage left nothing in the cache: a rerun starts it clean
      const dpoCache = await cacheEntries(root, "run-dpo");
      assertEquals(dpoCache.length, 1, `run-dpo cache: ${dpoCache}`); // dpo β=1 only
      assert(!dpoCache[0]!.startsWith("."), `run-dpo cache: ${dpoCache}`);

      // 2. the same sweep in one process, without the fault: the failed run now finishes,
      //    its failure record and checkpoint are replaced; the others come from the cache
      const b = await runSweep(results, [...grid, "--jobs", "1"]);
      assertEquals(b.code, 0, b.stderr);
      assertStringIncludes(b.stderr, `done ${failing} · trained in `);
      for (const id of others) assertStringIncludes(b.stderr, `done ${id} · cached · gold `);
      assertStringIncludes(b.stderr, "sweep 4/4 runs · 1 trained, 3 cached, 0 failed");
      assertEquals((await readManifest(dir)).status, "ok");
      assertEquals(await exists(join(dir, "policy.ckpt")), false);
      assertEquals(await exists(join(dir, "summary.csv")), true);
      assertEquals(
        ((await readCsvTable(join(root, "summary.csv"))).array("run_id") as string[]).length,
        4,
      );
      const published = (id: string) =>
        Promise.all(
          ["summary.csv", "samples.jsonl", "metrics.csv", "manifest.json"].map((f) =>
            Deno.readTextFile(join(root, id, f))
          ),
        );
      const goodDpo = await published(failing);

      // 3. a real divergence from a config value, in one process: NaN at step 1; the weights
      //    saved after step 1 gave that NaN, so no checkpoint is kept
      //    (the DPO runs' config changed, so they are new runs with new ids)
      const diverging = [...grid, "--dpo.lr", "1e30"];
      const ids3 = await tinyRunIds(diverging);
      const c = await runSweep(results, [...diverging, "--jobs", "1"]);
      assertEquals(c.code, 1, c.stderr);
      assertStringIncludes(
        c.stdout,
        `2 run(s) failed:\n  ${ids3["dpo 0.1"]}: loss/dpo is NaN at step 1\n` +
          `  ${ids3["dpo 1"]}: loss/dpo is NaN at step 1\n`,
      );
      const dir3 = join(root, ids3["dpo 0.1"]!);
      const m2 = await readManifest(dir3);
      assertEquals([m2.status, m2.error?.step, m2.checkpoint], ["failed", 1, undefined]);
      assertEquals(await exists(join(dir3, "policy.ckpt")), false);
      assertEquals(ids3["ppo 0.1"], ids["ppo 0.1"]); // PPO does not read dpo.lr
      assertEquals((await readManifest(join(root, ids["ppo 0.1"]!))).status, "ok");
      // the NaN-failed runs never touch the good DPO runs published above
      assertEquals(await published(failing), goodDpo);
    }, "faults-"),
});
