/**
 * Planning the canonical experiment: presets, grids over any field, the runs they make,
 * their ids and keys, and every rule checked before any work (the command line's own syntax
 * and values are in sweep_cli_test.ts).
 */
import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";
import { parseSweep } from "../experiments/sweep.ts";
import { CANONICAL_DEFAULTS } from "../experiments/canonical/config_defaults.ts";
import { resolveCanonical } from "../experiments/canonical/config_rules.ts";
import { CANONICAL_PRESETS, resolvePreset } from "../experiments/canonical/presets.ts";
import { longestFirst, planRun, runCost } from "../experiments/canonical/plan.ts";
import { PPO_DEFAULTS } from "../lib/train/ppo_config.ts";
import { ConfigError } from "../lib/util/errors.ts";
import {
  checkRefusedCommands,
  checkRejections,
  type RefusedCommand,
  withTempDir,
} from "./_bad_input.ts";

const plan = async (...args: string[]) => {
  const req = await parseSweep(["canonical", ...args]);
  assert(req !== undefined);
  return req.plan;
};

Deno.test("presets state differences: quick keeps the trainers' defaults it does not set", () => {
  const quick = resolvePreset("quick").config;
  assertEquals(quick.ppo.clipRange, PPO_DEFAULTS.clipRange);
  assertEquals(quick.ppo.iterations, 12);
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

const ADAPTIVE_FROM_ZERO = "ppo.beta must be > 0 when ppo.adaptiveKlTarget is set (6): the " +
  "adaptive controller scales β multiplicatively, so from 0 it could never move; give " +
  "ppo.beta > 0 or ppo.adaptiveKlTarget null";

/** Command lines whose values are each fine but break a rule, at a point or in a grid. */
const RULE_CASES: RefusedCommand[] = [
  {
    args: ["--preset", "tiny", "--model.context", "8"],
    process: true,
    message:
      "a prompt of data.promptMaxTokens 8 + BOS + 6 new tokens + EOS needs model.context >= 16, but it is 8",
  },
  {
    args: ["--preset", "tiny", "--model.nHeads", "3"],
    process: true,
    message: "model.dModel (16) must be divisible by model.nHeads (3)",
  },
  {
    args: ["--model.dModel", "30"],
    message: "model.dModel (30) must be divisible by model.nHeads (4)",
  },
  {
    args: ["--preset", "tiny", "--data.promptMinWords", "5", "--data.promptMaxWords", "3"],
    message: "data.promptMaxWords (3) must be >= data.promptMinWords (5)",
  },
  {
    args: ["--preset", "tiny", "--data.promptMinWords", "2", "--data.promptMaxTokens", "1"],
    message:
      "data.promptMaxTokens (1) must be >= data.promptMinWords (2): every word is at least one token",
  },
  {
    args: ["--preset", "tiny", "--prefs.prompts", "60"],
    message:
      "prefs.prompts (60) + prefs.spearmanSamples (8) must be <= data.trainPrompts (64): the reward model's Spearman check uses training prompts that were not labelled",
  },
  {
    args: ["--preset", "tiny", "--data.tokenizer", "bpe", "--data.vocabSize", "200"],
    message:
      'data.vocabSize (200) must be >= 261 with data.tokenizer "bpe": 4 special tokens and 256 byte tokens come before any merge',
  },
  {
    // the model's vocabulary is the data's: there is no second field to disagree with it
    args: ["--preset", "tiny", "--model.vocabSize", "500"],
    message:
      "unknown key --model.vocabSize (did you mean --data.vocabSize?); known keys in model: --model.dModel,",
    partial: true,
  },
  {
    args: ["--preset", "tiny", "--methods", "ppo,ppo"],
    message: "methods lists ppo twice (ppo,ppo)",
  },
  {
    // checked when parsing, naming ppo.beta, not when the PPO run starts
    args: ["--preset", "tiny", "--ppo.beta", "0", "--ppo.adaptiveKlTarget", "6"],
    process: true,
    message: ADAPTIVE_FROM_ZERO,
  },
  {
    // every grid point is checked before any work, and the error says which point
    args: ["--preset", "tiny", "--ppo.beta", "0,0.1", "--ppo.adaptiveKlTarget", "6"],
    process: true,
    message: `at grid point --ppo.beta 0: ${ADAPTIVE_FROM_ZERO}`,
  },
  {
    args: ["--preset", "tiny", "--methods", "dpo", "--model.context", "24,8"],
    message:
      "at grid point --dpo.beta 0.1 --model.context 8: a prompt of data.promptMaxTokens 8 + BOS + 6 new tokens + EOS needs model.context >= 16, but it is 8",
  },
];

Deno.test("parseSweep() refuses a command line that breaks a config rule, naming the fields", async () => {
  await withTempDir(async (dir) => {
    const results = join(dir, "results");
    const cases = RULE_CASES.map((c) => ({
      ...c,
      args: ["canonical", "--results", results, ...c.args],
    }));
    await checkRefusedCommands("sweep", cases, {
      parse: (args) => parseSweep(args),
      untouched: [results],
    });
  }, "canonical-plan-");
});

Deno.test("a PPO rule binds only when PPO runs: --ppo.beta 0 with an adaptive target and no PPO", async () => {
  const p = await plan(
    "--preset",
    "tiny",
    "--methods",
    "dpo",
    "--ppo.beta",
    "0",
    "--ppo.adaptiveKlTarget",
    "6",
  );
  assertEquals(p.runs.map((r) => r.method), ["dpo", "dpo"]);
});

Deno.test("resolveCanonical() names the field, the value and what is allowed", async (t) => {
  const tiny = resolvePreset("tiny").config;
  await checkRejections(t, [
    {
      name: "a list where a number goes",
      call: () => resolveCanonical(tiny, { ppo: { beta: [0.1] } }),
      cls: ConfigError,
      message: "ppo.beta must be a number >= 0, got [0.1]",
    },
    {
      name: "a string where a number goes",
      call: () => resolveCanonical(tiny, { dpo: { steps: "4" } }),
      cls: ConfigError,
      message: 'dpo.steps must be an integer >= 1, got "4"',
    },
    {
      name: "a value where a section goes",
      call: () => resolveCanonical(tiny, { model: "big" }),
      cls: ConfigError,
      message: 'model must be an object, got "big"',
    },
    {
      name: "an unknown top-level key",
      call: () => resolveCanonical(tiny, { bogus: 1 }),
      cls: ConfigError,
      message:
        "unknown key bogus; known keys: seed, upstreamSeed, methods, gold, checkpointEvery, data,",
    },
    {
      name: "an unknown key in a section",
      call: () => resolveCanonical(tiny, { ppo: { betta: 0.1 } }),
      cls: ConfigError,
      message: "unknown key ppo.betta; known keys: iterations,",
    },
    {
      name: "a field that moved: model.vocabSize is data.vocabSize",
      call: () => resolveCanonical(tiny, { model: { vocabSize: 300 } }),
      cls: ConfigError,
      message: "unknown key model.vocabSize; known keys: dModel,",
    },
    {
      name: "a seed beyond 32 bits",
      call: () => resolveCanonical(tiny, { seed: 2 ** 32 }),
      cls: ConfigError,
      message: "seed must be an integer >= 0 and <= 4294967295, got 4294967296",
    },
    {
      name: "an unknown preset",
      call: () => resolvePreset("medium"),
      cls: ConfigError,
      message: 'unknown preset "medium"; allowed: quick, default, full, tiny',
    },
    {
      name: "a context shorter than prompt + completion",
      call: () => resolveCanonical(tiny, { ppo: { maxNewTokens: 12 } }),
      cls: ConfigError,
      message: "a prompt of data.promptMaxTokens 8 + BOS + 12 new tokens + EOS needs " +
        "model.context >= 22, but it is 16",
    },
  ]);
});

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

Deno.test("longestFirst() schedules PPO before DPO before best-of-n, keeping ties in plan order", async () => {
  const p = await plan("--preset", "tiny");
  const order = longestFirst(p.runs).map((r) => r.method);
  assert(runCost(p.runs[0]!) > 0);
  assertEquals(new Set(order).size, 3);
  assert(order.lastIndexOf("ppo") < order.indexOf("bon"), order.join(" "));
  // equal costs (PPO at two β) keep the plan's order
  const ppo = longestFirst(p.runs).filter((r) => r.method === "ppo").map((r) => r.id);
  assertEquals(ppo, p.runs.filter((r) => r.method === "ppo").map((r) => r.id));
});
