/**
 * Planning the canonical experiment: presets, grids over any field, the runs they make,
 * their ids and keys, and every rule checked before any work.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";
import { parseSweep } from "../experiments/sweep.ts";
import { CANONICAL_DEFAULTS } from "../experiments/canonical/config.ts";
import { CANONICAL_PRESETS, resolvePreset } from "../experiments/canonical/presets.ts";
import { planRun } from "../experiments/canonical/plan.ts";
import { PPO_DEFAULTS } from "../lib/train/ppo.ts";
import { ConfigError } from "../lib/util/errors.ts";

const plan = async (...args: string[]) => {
  const req = await parseSweep(["canonical", ...args]);
  assert(req !== undefined);
  return req.plan;
};

Deno.test("presets state differences: quick keeps the trainers' defaults it does not set", () => {
  const quick = resolvePreset("quick").config;
  assertEquals(quick.ppo.clipRange, PPO_DEFAULTS.clipRange);
  assertEquals(quick.ppo.iterations, 8);
  assertEquals(resolvePreset("default").config.ppo.iterations, 24);
  assertEquals(resolvePreset("default").config.model.nLayers, CANONICAL_DEFAULTS.model.nLayers);
  for (const name of Object.keys(CANONICAL_PRESETS)) resolvePreset(name); // all valid
});

Deno.test("the tiny preset plans one run per method and grid value, named with its key", async () => {
  const p = await plan("--preset", "tiny");
  assertEquals(p.runs.map((r) => r.id.replace(/__[0-9a-f]{8}$/, "")), [
    "ppo__beta0.1__seed1",
    "ppo__beta1__seed1",
    "dpo__beta0.1__seed1",
    "dpo__beta1__seed1",
    "bon__n1__seed1",
    "bon__n4__seed1",
  ]);
  for (const r of p.runs) assert(r.id.endsWith(`__${r.key.slice(0, 8)}`), r.id);
  // β is a scalar from the first step: the trainer's config holds exactly the run's β
  const ppo = p.runs[1]!;
  assertEquals((ppo.runConfig as unknown as { trainer: { beta: number } }).trainer.beta, 1);
});

Deno.test("--model.dModel 32,64 --ppo.beta 0.05,0.1 runs a 2×2 grid, forking the model stages", async () => {
  const p = await plan(
    "--preset",
    "tiny",
    "--methods",
    "ppo",
    "--model.dModel",
    "32,64",
    "--ppo.beta",
    "0.05,0.1",
  );
  assertEquals(p.runs.length, 4);
  assertEquals(new Set(p.runs.map((r) => r.upstream.base)).size, 2);
  assertEquals(new Set(p.runs.map((r) => r.upstream.data)).size, 1);
  for (const r of p.runs) assertStringIncludes(r.id, `dModel${r.config.model.dModel}`);
});

Deno.test("an axis a method does not read never forks its runs", async () => {
  const p = await plan("--preset", "tiny", "--methods", "ppo,bon", "--dpo.beta", "0.1,0.2,0.3");
  assertEquals(p.runs.length, 4); // 2 ppo β × 1 + 2 bon n: dpo.beta changes neither
  assert(p.runs.every((r) => !r.id.includes("dpo")), p.runs.map((r) => r.id).join(" "));
});

Deno.test("an upstream axis forks the preference and reward-model stages only", async () => {
  const p = await plan(
    "--preset",
    "tiny",
    "--methods",
    "ppo",
    "--ppo.beta",
    "0.1",
    "--prefs.tau",
    "0.05,0.1",
  );
  assertEquals(p.runs.length, 2);
  const [a, b] = p.runs;
  assertEquals(a!.upstream.sft, b!.upstream.sft);
  assert(a!.upstream.prefs !== b!.upstream.prefs && a!.upstream.rm !== b!.upstream.rm);
  assertStringIncludes(a!.id, "tau0.05");
});

Deno.test("seeds and learning rates are grids like any field", async () => {
  const p = await plan(
    "--preset",
    "tiny",
    "--methods",
    "dpo",
    "--dpo.beta",
    "0.1",
    "--seed",
    "1,2,3",
    "--dpo.lr",
    "1e-4,3e-4",
  );
  assertEquals(p.runs.length, 6);
  assertEquals(new Set(p.runs.map((r) => r.key)).size, 6);
});

for (
  const [args, message] of [
    [
      ["--ppo.beta", "0", "--ppo.adaptiveKlTarget", "6"],
      "ppo.beta must be > 0 when ppo.adaptiveKlTarget is set (6)",
    ],
    [["--ppo.beta", "0,0.1", "--ppo.adaptiveKlTarget", "6"], "at grid point --ppo.beta 0"],
    [["--seed", "1,1"], "--seed 1,1: 1 appears twice in the grid"],
    [["--ppo.beta", "0.1,0.10"], "0.1 appears twice in the grid"],
    [["--seed", "4294967296"], "seed must be an integer >= 0 and <= 4294967295"],
    [["--seed", "1e300"], "seed must be an integer >= 0 and <= 4294967295"],
    [["--methods", "ppo,ppo"], "methods lists ppo twice"],
    [["--model.dModel", "30"], "model.dModel (30) must be divisible by model.nHeads (4)"],
    [["--preset", "nope"], 'unknown preset "nope"'],
  ] as const
) {
  Deno.test(`parseSweep(${args.join(" ")}) fails before any work, naming the field`, async () => {
    const e = await assertRejects(() => plan(...args), ConfigError);
    assertStringIncludes(e.message, message);
  });
}

Deno.test("planRun() rebuilds a sweep's run from its config and refuses a mismatched id", async () => {
  const p = await plan("--preset", "tiny");
  const r = p.runs[2]!;
  const again = await planRun(r.method, r.config, { id: r.id, labels: r.labels });
  assertEquals(again.key, r.key);
  assertEquals(again.runConfig, r.runConfig);
  await assertRejects(
    () => planRun("dpo", { ...r.config, seed: 9 }, { id: r.id }),
    ConfigError,
    "does not end in its config's key",
  );
});
