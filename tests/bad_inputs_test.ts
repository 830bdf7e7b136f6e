/**
 * A catalogue of bad inputs, each of which must stop before any work with one clear
 * line naming the field or file, the bad value and what is allowed:
 *
 * - sweep command lines, checked in-process through `sweepFromArgs` (ConfigError with the
 *   exact message), and a representative part of them plus every `rerun`, `plots`,
 *   `compare`, environment-variable and permission case run as subprocesses with the
 *   tasks' own permissions: exit code 2, exactly one line on stderr, starting with
 *   `error:`, no stack trace;
 * - configs given to the library (experiment, model, trainer sections);
 * - preference files, checkpoints, results tables, tokenizer files and run directories;
 * - the tasks' permissions (no --allow-all, no network) and loaders that parse data only.
 */
import { join } from "node:path";
import { initBackend } from "../lib/backend/mod.ts";
import { CausalLM } from "../lib/models/causal_lm.ts";
import { modelConfig } from "../lib/models/config.ts";
import { loadCheckpoint, readCheckpoint, saveCheckpoint } from "../lib/models/checkpoint.ts";
import { dpoConfig } from "../lib/train/dpo.ts";
import { ppoConfig } from "../lib/train/ppo.ts";
import { sftConfig } from "../lib/train/sft.ts";
import { rewardModelConfig } from "../lib/train/reward_model.ts";
import { parseFault } from "../lib/train/_fault.ts";
import { loadPreferences } from "../lib/data/preference_table.ts";
import { TOKENIZER_FORMAT, WordTokenizer } from "../lib/data/tokenizer.ts";
import { mergeSummaries, readCsvTable } from "../lib/sweep/results_table.ts";
import { runPool } from "../lib/sweep/pool.ts";
import { ConfigError, FileFormatError } from "../lib/util/errors.ts";
import { canonicalConfig } from "../experiments/canonical/config.ts";
import { enumerateRuns, readRunSummary } from "../experiments/canonical/runs.ts";
import { sweepFromArgs } from "../experiments/sweep.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";

await initBackend("wasm");

const ROOT = new URL("..", import.meta.url).pathname;
/** The permissions of the `sweep`, `rerun`, `plots` and `compare` tasks (deno.json). */
const TASK_FLAGS = [
  "--allow-read",
  "--allow-write=results,/tmp",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
];

/** One command line that must fail with exit code 2 and the given one-line message. */
interface CliCase {
  /** Script and arguments, e.g. `["experiments/sweep.ts", "canonical", ...]`. */
  args: string[];
  env?: Record<string, string>;
  /** The exact message after `error: `, or a part of it when `partial`. */
  message: string;
  partial?: boolean;
  /**
   * Also run a sweep command line as a subprocess. Sweep command lines without `env` are
   * all checked in-process through `sweepFromArgs` (fast); the rest always run as
   * subprocesses.
   */
  process?: boolean;
}

const SWEEP = ["experiments/sweep.ts", "canonical", "--preset", "tiny"];
const tmp = await Deno.makeTempDir({ prefix: "bad-inputs-" });
const results = join(tmp, "results");
const sweep = (...args: string[]): string[] => [...SWEEP, "--results", results, ...args];

/** A directory that looks like a published run of the tiny preset, with `files` in it. */
async function fakeRunDir(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(tmp, name, "canonical__ppo__0.1__1");
  await Deno.mkdir(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) await Deno.writeTextFile(join(dir, f), text);
  return dir;
}
const tiny = canonicalConfig("tiny");
const runSpec = enumerateRuns("canonical", tiny)[0]!;
const goodConfigJson = JSON.stringify({ run: runSpec, config: {}, experimentConfig: tiny });
const noSummary = await fakeRunDir("no-summary", { "config.json": goodConfigJson });
const corruptConfig = await fakeRunDir("corrupt-config", { "config.json": '{"run": {"id"' });
const badConfig = await fakeRunDir("bad-config", {
  "config.json": JSON.stringify({
    run: runSpec,
    experimentConfig: { ...tiny, ppo: { ...tiny.ppo, lr: -1 } },
  }),
});
const notARun = await fakeRunDir("not-a-run", { "config.json": "[1, 2]" });
const compareDir = await fakeRunDir("compare", {
  "summary.csv": "run_id,reward_gold\ncanonical__ppo__0.1__1,0.5\n",
  "config.json": "{ not json",
});

const CLI_CASES: CliCase[] = [
  // experiment overrides: types, ranges, enums, unknown keys
  {
    args: sweep("--ppo.lr", "abc"),
    process: true,
    message: '--ppo.lr abc: "abc" is not a number (ppo.lr must be a number > 0)',
  },
  {
    args: sweep("--ppo.lr", "1e999"),
    message: "--ppo.lr 1e999: ppo.lr must be a number > 0, got Infinity",
  },
  {
    args: sweep("--ppo.lr", "-0.1"),
    message: "--ppo.lr -0.1: ppo.lr must be a number > 0, got -0.1",
  },
  {
    args: sweep("--ppo.bta", "0.1"),
    process: true,
    message:
      "unknown key --ppo.bta (did you mean --dpo.beta or --ppo.beta?); known keys in ppo: --ppo.iterations",
    partial: true,
  },
  {
    args: sweep("--modle.dModel", "8"),
    message: "unknown key --modle.dModel (did you mean",
    partial: true,
  },
  {
    args: sweep("--ppo"),
    process: true,
    message: "--ppo is a section, not a value; set its keys, e.g. --ppo.iterations",
    partial: true,
  },
  {
    args: sweep("--ppo.lr"),
    process: true,
    message: "--ppo.lr is missing its value; it takes a number > 0",
  },
  {
    args: sweep("--ppo.lr", "0.1", "--ppo.lr", "0.2"),
    message:
      '--ppo.lr is given twice ("0.1" and "0.2"); give it once, with a comma list for a grid: --ppo.lr 0.1,0.2',
  },
  {
    args: sweep("--ppo.lr", "0.1,0.2"),
    message:
      "--ppo.lr got several values, but only list fields (seed, methods, ppo.beta, dpo.beta, bon.n) take a grid here",
  },
  {
    args: sweep("--ppo.whitenRewards", "yes"),
    message: '--ppo.whitenRewards yes: "yes" is not true or false',
  },
  {
    args: sweep("--ppo.klEstimator", "k9"),
    process: true,
    message:
      '--ppo.klEstimator k9: ppo.klEstimator must be one of "k1", "k2", "k3", "full", got "k9"',
  },
  {
    args: sweep("--ppo.gamma", "1.5"),
    message: "--ppo.gamma 1.5: ppo.gamma must be a number >= 0 and <= 1, got 1.5",
  },
  {
    args: sweep("--ppo.iterations", "2.5"),
    message: "--ppo.iterations 2.5: ppo.iterations must be an integer >= 1, got 2.5",
  },
  {
    args: sweep("--ppo.valueInit", "random"),
    message: '--ppo.valueInit random: ppo.valueInit must be one of "reward", "sft", got "random"',
  },
  {
    args: sweep("--dpo.beta", "0"),
    message: "--dpo.beta 0: dpo.beta must be a list of numbers > 0, got 0",
  },
  {
    args: sweep("--dpo.beta", "0.1,x"),
    message: '--dpo.beta 0.1,x: "x" is not a number (dpo.beta must be a list of numbers > 0)',
  },
  {
    args: sweep("--dpo.cdpoEpsilon", "0.5"),
    message: "--dpo.cdpoEpsilon 0.5: dpo.cdpoEpsilon must be a number > 0 and < 0.5, got 0.5",
  },
  {
    args: sweep("--dpo.lengthNormalise", "1"),
    message: '--dpo.lengthNormalise 1: "1" is not true or false',
  },
  {
    args: sweep("--seed", "1.5"),
    process: true,
    message: "--seed 1.5: seed must be a list of integers, got 1.5",
  },
  { args: sweep("--seed", ""), message: "--seed : seed must be a list of integers, got []" },
  {
    args: sweep("--methods", "dpo,kto"),
    message:
      '--methods dpo,kto: methods must be a list of "ppo", "ppo_gt", "dpo", "cdpo", "ipo", "hinge", "simpo", "bon", got "kto"',
  },
  {
    args: sweep("--gold", "sentiment"),
    message:
      '--gold sentiment: gold must be one of "vader", "target_words", "length", got "sentiment"',
  },
  {
    args: sweep("--bon.n", "0,4"),
    message: "--bon.n 0,4: bon.n must be a list of integers >= 1, got 0",
  },
  {
    args: sweep("--bon.selectBy", "oracle"),
    message: '--bon.selectBy oracle: bon.selectBy must be one of "proxy", "gold", got "oracle"',
  },
  {
    args: sweep("--prefs.tau", "0"),
    message: "--prefs.tau 0: prefs.tau must be a number > 0, got 0",
  },
  {
    args: sweep("--prefs.k", "20"),
    message: "--prefs.k 20: prefs.k must be an integer >= 2 and <= 12, got 20",
  },
  {
    args: sweep("--prefs.valFraction", "1"),
    message: "--prefs.valFraction 1: prefs.valFraction must be a number > 0 and < 1, got 1",
  },
  {
    args: sweep("--prefs.annotator", "human"),
    message:
      '--prefs.annotator human: prefs.annotator must be one of "bradley_terry", "plackett_luce", "noiseless", got "human"',
  },
  {
    args: sweep("--rm.steps", "0"),
    message: "--rm.steps 0: rm.steps must be an integer >= 1, got 0",
  },
  { args: sweep("--sft.lr", "0"), message: "--sft.lr 0: sft.lr must be a number > 0, got 0" },
  {
    args: sweep("--base.logEvery", "0"),
    message: "--base.logEvery 0: base.logEvery must be an integer >= 1, got 0",
  },
  {
    args: sweep("--model.dropout", "1"),
    message: "--model.dropout 1: model.dropout must be a number >= 0 and < 1, got 1",
  },
  {
    args: sweep("--checkpointEvery", "-1"),
    message: "--checkpointEvery -1: checkpointEvery must be an integer >= 0, got -1",
  },
  {
    args: sweep("--data.sftCategory", "cooking"),
    message:
      '--data.sftCategory cooking: data.sftCategory must be one of "news", "editorial", "reviews"',
    partial: true,
  },
  // cross-field rules
  {
    args: sweep("--model.context", "8"),
    process: true,
    message:
      "a prompt of data.promptMaxWords 6 words + BOS + 6 new tokens + EOS needs context >= 14, but model.context is 8",
  },
  {
    args: sweep("--model.nHeads", "3"),
    process: true,
    message: "model.dModel (16) must be divisible by model.nHeads (3)",
  },
  {
    args: sweep("--model.vocabSize", "500"),
    message: "model.vocabSize (500) must equal data.vocabSize (300)",
  },
  {
    args: sweep("--data.promptMinWords", "5", "--data.promptMaxWords", "3"),
    message: "data.promptMaxWords (3) must be >= data.promptMinWords (5)",
  },
  {
    args: sweep("--prefs.prompts", "60"),
    message:
      "prefs.prompts (60) + prefs.spearmanSamples (8) must be <= data.trainPrompts (64): the reward model's Spearman check uses training prompts that were not labelled",
  },
  // sweep options
  {
    args: sweep("--preset", "huge"),
    message: '--preset is given twice ("tiny" and "huge")',
    partial: true,
  },
  {
    args: ["experiments/sweep.ts", "canonical", "--preset", "huge"],
    message: 'unknown preset "huge"; allowed: tiny, quick, default, full',
  },
  {
    args: sweep("--jobs", "0"),
    process: true,
    message: '--jobs must be a positive integer, got "0"',
  },
  {
    args: sweep("--shard", "3/2"),
    process: true,
    message: '--shard must be i/n with integers 0 <= i < n (e.g. 0/4), got "3/2"',
  },
  {
    args: ["experiments/sweep.ts", "nosuchexp"],
    process: true,
    message: 'unknown experiment "nosuchexp"; known: canonical, bandit',
  },
  {
    args: sweep("extra"),
    process: true,
    message: 'unexpected argument "extra"; usage: deno task sweep <experiment>',
    partial: true,
  },
  {
    args: ["experiments/sweep.ts", "--preset", "tiny"],
    process: true,
    message: "no experiment named; usage: deno task sweep",
    partial: true,
  },
  // where it may write, and environment variables
  {
    args: [...SWEEP, "--results", "/etc/rlhf-kit"],
    message:
      "--results /etc/rlhf-kit: this process may not write to /etc/rlhf-kit/canonical (deno task sweep and reproduce write only under results/ and /tmp)",
  },
  {
    args: sweep(),
    env: { RLHF_BACKEND: "quantum" },
    message: 'unknown backend "quantum"; allowed: auto, tensorflow, webgpu, wasm, cpu',
  },
  {
    args: sweep(),
    env: { RLHF_FAULT: "nan:dpo" },
    message: 'RLHF_FAULT must be nan:<method or run id>:<step> (e.g. nan:dpo:3), got "nan:dpo"',
  },
  {
    args: sweep(),
    env: { RLHF_FAULT: "nan:bon:1" },
    message:
      'RLHF_FAULT "nan:bon:1" names "bon", which is neither a method that trains (ppo, ppo_gt, dpo, cdpo, ipo, hinge, simpo) nor a run id',
  },
  {
    args: sweep(),
    env: { RLHF_FAULT: "nan:ipo:1" },
    message:
      'RLHF_FAULT targets "ipo", which is not a method or run of this sweep (methods: ppo, dpo, bon)',
  },
  // deno task rerun
  {
    args: ["experiments/rerun.ts"],
    message: "no run directory given; usage: deno task rerun <run dir> [--reuse-upstream] [--keep]",
  },
  {
    args: ["experiments/rerun.ts", noSummary, "--fast"],
    message:
      'unknown option "--fast"; usage: deno task rerun <run dir> [--reuse-upstream] [--keep]',
  },
  {
    args: ["experiments/rerun.ts", join(tmp, "nowhere")],
    message: `run directory ${join(tmp, "nowhere")} does not exist`,
  },
  {
    args: ["experiments/rerun.ts", noSummary],
    message: `${
      join(noSummary, "summary.csv")
    } does not exist: canonical__ppo__0.1__1 did not finish (see its manifest.json)`,
  },
  {
    args: ["experiments/rerun.ts", corruptConfig],
    message: `${join(corruptConfig, "config.json")} is not valid JSON: `,
    partial: true,
  },
  {
    args: ["experiments/rerun.ts", badConfig],
    message: `${join(badConfig, "config.json")}: ppo.lr must be a number > 0, got -1`,
  },
  {
    args: ["experiments/rerun.ts", notARun],
    message: `${
      join(notARun, "config.json")
    } is not a run config: it needs "run" and "experimentConfig" (written by a sweep)`,
  },
  // results tools on missing or corrupt results
  {
    args: ["experiments/results_tools.ts", "plots", join(tmp, "nowhere")],
    message: `${
      join(tmp, "nowhere", "summary.csv")
    } does not exist: run a sweep (or deno task merge) first`,
  },
  {
    args: ["experiments/results_tools.ts", "merge", tmp],
    message: `${tmp} has no summary.shard-*.csv files to merge`,
  },
  {
    args: ["experiments/results_tools.ts", "compare", compareDir, compareDir],
    message: `${join(compareDir, "config.json")} is not valid JSON: `,
    partial: true,
  },
];

/** Whether a case can be checked by calling `sweepFromArgs` in this process. */
function inProcess(c: CliCase): boolean {
  return c.args[0] === "experiments/sweep.ts" && !c.env && !c.args.includes("/etc/rlhf-kit");
}

/** Run one command line as `deno task` would, and check how it failed. */
async function checkCli(c: CliCase): Promise<string | undefined> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...TASK_FLAGS, ...c.args],
    cwd: ROOT,
    env: { NO_COLOR: "1", RLHF_PNG: "0", ...c.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  const lines = stderr.split("\n").filter((l) => l.trim() !== "");
  const shown = `${c.args.join(" ")}: exit ${out.code}, stderr:\n${stderr}`;
  if (out.code !== 2) return `expected exit code 2 — ${shown}`;
  if (lines.length !== 1) return `expected one line on stderr — ${shown}`;
  if (/^\s+at /m.test(stderr)) return `a stack trace — ${shown}`;
  const line = lines[0]!;
  if (!line.startsWith("error: ")) return `expected "error: " first — ${shown}`;
  return checkMessage(c, line.slice("error: ".length), shown);
}

function checkMessage(c: CliCase, msg: string, shown: string): string | undefined {
  if (c.partial ? msg.includes(c.message) : msg === c.message) return undefined;
  return `expected message ${JSON.stringify(c.message)} — ${shown}`;
}

Deno.test("bad sweep command lines are refused by sweepFromArgs before any work", async () => {
  const cases = CLI_CASES.filter(inProcess);
  assert(cases.length >= 40, `only ${cases.length} in-process cases`);
  const problems: string[] = [];
  for (const c of cases) {
    try {
      await sweepFromArgs(c.args.slice(1));
      problems.push(`${c.args.join(" ")}: accepted`);
    } catch (e) {
      if (!(e instanceof ConfigError)) problems.push(`${c.args.join(" ")}: threw ${e}`);
      else {
        const p = checkMessage(c, e.message, `${c.args.join(" ")}: ${e.message}`);
        if (p) problems.push(p);
      }
    }
  }
  assertEquals(problems, [], problems.join("\n\n"));
  assertEquals(await Deno.stat(results).then(() => true, () => false), false);
});

Deno.test({
  name: "bad command lines exit 2 with one clear line on stderr and no stack trace",
  sanitizeResources: false,
  fn: async () => {
    const cases = CLI_CASES.filter((c) => c.process || !inProcess(c));
    assert(cases.length >= 25, `only ${cases.length} subprocess cases`);
    const problems: string[] = [];
    await runPool(cases, {
      jobs: 3,
      run: async (c) => {
        const p = await checkCli(c);
        if (p) problems.push(p);
      },
    });
    assertEquals(problems, [], problems.join("\n\n"));
    // nothing was started: no results directory appeared
    assertEquals(await Deno.stat(results).then(() => true, () => false), false);
  },
});

/** A library call that must throw `cls` with a message containing `message`. */
interface ApiCase {
  name: string;
  call: () => unknown;
  cls: typeof ConfigError | typeof FileFormatError;
  message: string;
}

const API_CONFIG_CASES: ApiCase[] = [
  {
    name: "a string where a list of numbers goes",
    call: () => canonicalConfig("tiny", { ppo: { beta: "0.1" } }),
    cls: ConfigError,
    message: 'ppo.beta must be a list of numbers >= 0, got "0.1"',
  },
  {
    name: "a string where a number goes",
    call: () => canonicalConfig("tiny", { dpo: { steps: "4" } }),
    cls: ConfigError,
    message: 'dpo.steps must be an integer >= 1, got "4"',
  },
  {
    name: "a value where a section goes",
    call: () => canonicalConfig("tiny", { model: "big" }),
    cls: ConfigError,
    message: 'model must be an object, got "big"',
  },
  {
    name: "an unknown top-level key",
    call: () => canonicalConfig("tiny", { bogus: 1 }),
    cls: ConfigError,
    message: "unknown key bogus; known keys: seed, methods, gold, checkpointEvery, data",
  },
  {
    name: "an unknown key in a section",
    call: () => canonicalConfig("tiny", { ppo: { betta: [0.1] } }),
    cls: ConfigError,
    message: "unknown key ppo.betta; known keys: iterations,",
  },
  {
    name: "an unknown preset",
    call: () => canonicalConfig("medium"),
    cls: ConfigError,
    message: 'unknown preset "medium"; allowed: tiny, quick, default, full',
  },
  {
    name: "a context shorter than prompt + completion",
    call: () => canonicalConfig("tiny", { ppo: { maxNewTokens: 12 } }),
    cls: ConfigError,
    message:
      "a prompt of data.promptMaxWords 6 words + BOS + 12 new tokens + EOS needs context >= 20, " +
      "but model.context is 16",
  },
  {
    name: "a model whose heads do not divide its width",
    call: () => modelConfig({ dModel: 16, nHeads: 3 }),
    cls: ConfigError,
    message: "model.dModel must be divisible by model.nHeads, got dModel 16 and nHeads 3",
  },
  {
    name: "a model with a context of 1",
    call: () => modelConfig({ context: 1 }),
    cls: ConfigError,
    message: "model.context must be an integer >= 2, got 1",
  },
  {
    name: "an unknown DPO loss type",
    call: () => dpoConfig({ lossType: "kto" as never }),
    cls: ConfigError,
    message: 'dpo.lossType must be one of "dpo", "ipo", "hinge", "simpo", got "kto"',
  },
  {
    name: "an unknown PPO KL estimator",
    call: () => ppoConfig({ klEstimator: "k4" as never }),
    cls: ConfigError,
    message: 'ppo.klEstimator must be one of "k1", "k2", "k3", "full", got "k4"',
  },
  {
    name: "an unknown PPO key",
    call: () => ppoConfig({ clip: 0.2 } as never),
    cls: ConfigError,
    message: "unknown key ppo.clip; known keys: iterations,",
  },
  {
    name: "a string where an SFT step count goes",
    call: () => sftConfig({ steps: "100" as never }),
    cls: ConfigError,
    message: 'sft.steps must be an integer >= 1, got "100"',
  },
  {
    name: "a negative reward-model margin",
    call: () => rewardModelConfig({ margin: -1 }),
    cls: ConfigError,
    message: "rm.margin must be a number >= 0, got -1",
  },
  {
    name: "a malformed fault spec",
    call: () => parseFault("inf:dpo:1", "RLHF_FAULT"),
    cls: ConfigError,
    message: 'RLHF_FAULT must be nan:<method or run id>:<step> (e.g. nan:dpo:3), got "inf:dpo:1"',
  },
];

Deno.test("bad configs given to the library name the field, the value and what is allowed", async (t) => {
  for (const c of API_CONFIG_CASES) {
    await t.step(c.name, async () => {
      await assertRejects(async () => await c.call(), c.cls, c.message);
    });
  }
});

/** Write `text` to a fresh file named `name` and return its path. */
async function file(name: string, text: string | Uint8Array): Promise<string> {
  const dir = await Deno.makeTempDir({ dir: tmp });
  const path = join(dir, name);
  if (typeof text === "string") await Deno.writeTextFile(path, text);
  else await Deno.writeFile(path, text);
  return path;
}

Deno.test("bad preference files name the file, the line and the problem", async (t) => {
  const cases: [string, string, string, string][] = [
    ["a missing file", "absent.csv", "", ": file not found"],
    [
      "a missing column",
      "p.csv",
      "prompt,chosen\nthe film,was good\n",
      'p.csv: missing required column "rejected"; found "prompt", "chosen"',
    ],
    [
      "an empty cell",
      "p.csv",
      "prompt,chosen,rejected\nthe film,,was bad\n",
      'line 2: empty "chosen"',
    ],
    [
      "a quote never closed",
      "p.csv",
      'prompt,chosen,rejected\n"the film,a,b\n',
      "line 2: quoted field is never closed",
    ],
    [
      "bad JSON on a line",
      "p.jsonl",
      '{"prompt": "a", "chosen": "b", "rejected": "c"}\n{oops\n',
      "p.jsonl: line 2: bad JSON",
    ],
    [
      "JSON that is not an array",
      "p.json",
      '{"prompt": "a"}',
      "p.json: expected a JSON array of row objects",
    ],
    [
      "an unknown extension",
      "p.txt",
      "prompt,chosen,rejected\n",
      'p.txt: unknown extension ".txt"; allowed: .csv, .json, .jsonl',
    ],
    ["no rows", "p.csv", "prompt,chosen,rejected\n", "p.csv: no rows"],
  ];
  for (const [name, fname, text, message] of cases) {
    await t.step(name, async () => {
      const path = name === "a missing file" ? join(tmp, fname) : await file(fname, text);
      const e = await assertRejects(() => loadPreferences(path), FileFormatError);
      assertStringIncludes(e.message, message);
    });
  }
});

Deno.test("bad checkpoints are refused before any weight is used", async (t) => {
  const small = { vocabSize: 30, dModel: 8, nLayers: 1, nHeads: 2, context: 8, dropout: 0 };
  const lm = CausalLM.create(modelConfig(small), 1);
  const good = join(await Deno.makeTempDir({ dir: tmp }), "m.ckpt");
  await saveCheckpoint(good, lm);
  lm.dispose();
  const bytes = await Deno.readFile(good);
  const edited = (f: (b: Uint8Array) => Uint8Array) => file("m.ckpt", f(bytes.slice()));
  const cases: [string, () => Promise<string>, string][] = [
    ["a missing file", () => Promise.resolve(join(tmp, "absent.ckpt")), "does not exist"],
    ["an empty file", () => edited(() => new Uint8Array()), "is truncated (0 bytes)"],
    ["a truncated file", () => edited((b) => b.slice(0, b.length - 7)), "is truncated: "],
    [
      "trailing bytes",
      () => edited((b) => new Uint8Array([...b, 0, 0, 0, 0])),
      "has trailing bytes",
    ],
    [
      "another file type",
      () => edited((b) => (b.set(new TextEncoder().encode("PK\x03\x04")), b)),
      "is not a kit checkpoint (its first bytes are not RLHFCKPT)",
    ],
    [
      "a flipped weight byte",
      () => edited((b) => (b[b.length - 3]! ^= 0xff, b)),
      "is corrupt: its weights do not match the checksum in its header",
    ],
    [
      "a header cut short",
      () => edited((b) => (new DataView(b.buffer).setUint32(8, 1e6, true), b)),
      "is truncated inside its header",
    ],
  ];
  for (const [name, make, message] of cases) {
    await t.step(name, async () => {
      const path = await make();
      await assertRejects(() => readCheckpoint(path), FileFormatError, message);
    });
  }
  await t.step("the wrong kind of model", async () => {
    await assertRejects(
      () => loadCheckpoint(good, { kind: "scalar" }),
      FileFormatError,
      `checkpoint ${good} holds a language model, expected a scalar-head model`,
    );
  });
  await t.step("a context other than the caller's", async () => {
    await assertRejects(
      () => loadCheckpoint(good, { kind: "lm", config: { context: 16 } }),
      FileFormatError,
      `checkpoint ${good} has context 8 but 16 was expected`,
    );
  });
});

Deno.test("bad results tables and run directories name the file and the problem", async (t) => {
  const cases: [string, () => Promise<unknown>, string][] = [
    [
      "a missing table",
      () => readCsvTable(join(tmp, "absent.csv")),
      `cannot read table ${join(tmp, "absent.csv")}: the file does not exist`,
    ],
    [
      "an empty table",
      async () => readCsvTable(await file("s.csv", "")),
      "is empty: expected a CSV header row",
    ],
    [
      "a truncated last row",
      async () => readCsvTable(await file("s.csv", "a,b,c\n1,2,3\n4,5\n")),
      "line 3 has 2 fields but the header has 3 (a truncated or corrupt file?)",
    ],
    [
      "binary bytes",
      async () => readCsvTable(await file("s.csv", "a,b\n1,\0\n")),
      "is not a CSV text file (it contains NUL bytes)",
    ],
    [
      "a quote cut off",
      async () => readCsvTable(await file("s.csv", 'a,b\n1,"x\n')),
      "ends inside a quoted field opened on line 2 (truncated?)",
    ],
    [
      "a shard summary without run ids",
      async () => mergeSummaries([await file("s.csv", "method,kl\ndpo,1\n")]),
      'has no "run_id" column to identify runs; columns: method, kl',
    ],
    [
      "a missing run directory",
      () => readRunSummary(join(tmp, "no-run")),
      `run directory ${join(tmp, "no-run")} does not exist`,
    ],
    [
      "a run directory without a summary",
      () => readRunSummary(noSummary),
      `cannot read table ${join(noSummary, "summary.csv")}: the file does not exist`,
    ],
    [
      "a failed run's directory",
      async () =>
        readRunSummary(
          await fakeRunDir("failed", {
            "manifest.json": JSON.stringify({
              status: "failed",
              error: { message: "loss/dpo is NaN at step 3" },
            }),
          }),
        ),
      "failed (loss/dpo is NaN at step 3); it has no summary",
    ],
  ];
  for (const [name, call, message] of cases) {
    await t.step(name, async () => {
      await assertRejects(call, FileFormatError, message);
    });
  }
});

Deno.test("bad tokenizer files name the file and the problem", async (t) => {
  const specials = ["<pad>", "<bos>", "<eos>", "<unk>"];
  const cases: [string, () => Promise<string>, string][] = [
    ["a missing file", () => Promise.resolve(join(tmp, "absent.json")), "does not exist"],
    [
      "a truncated file",
      () => file("t.json", '{"format": "word-v1", "words": ["<pad>"'),
      "is not valid JSON",
    ],
    [
      "an array instead of an object",
      () => file("t.json", "[]"),
      "expected an object with format and words, got []",
    ],
    [
      "a wrong format tag",
      () => file("t.json", JSON.stringify({ format: "bpe", words: [] })),
      'format must be "',
    ],
    [
      "a duplicate word",
      () =>
        file(
          "t.json",
          JSON.stringify({ format: TOKENIZER_FORMAT, words: [...specials, "a", "a"] }),
        ),
      'words[5] "a" repeats words[4]',
    ],
  ];
  for (const [name, make, message] of cases) {
    await t.step(name, async () => {
      const path = await make();
      const e = await assertRejects(() => WordTokenizer.load(path), FileFormatError, message);
      assertStringIncludes(e.message, path);
    });
  }
});

Deno.test("tasks run with least privilege: no --allow-all, no network, writes limited", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks as Record<
    string,
    string
  >;
  for (const [name, cmd] of Object.entries(tasks)) {
    assert(!/(^|\s)(-A|--allow-all)(\s|$)/.test(cmd), `task ${name} has --allow-all: ${cmd}`);
    assert(!cmd.includes("--allow-net"), `task ${name} has --allow-net: ${cmd}`);
    if (
      ["sweep", "reproduce", "rerun", "sft", "bench", "merge", "plots", "compare"].includes(name)
    ) {
      assertStringIncludes(cmd, "--allow-write=results,/tmp", `task ${name}`);
    }
  }
  assert("rerun" in tasks, "deno task rerun exists");
  // nothing in the library, the experiments or the tools reaches for the network
  const offenders: string[] = [];
  for (const dir of ["lib", "experiments", "tools"]) {
    for await (const path of walkTs(join(ROOT, dir))) {
      const text = await Deno.readTextFile(path);
      if (
        /\bfetch\(|new WebSocket\(|--allow-net|Deno\.connect|https?:\/\/[^\s"'`]*\.(js|ts)\b/.test(
          text,
        )
      ) {
        offenders.push(path);
      }
    }
  }
  assertEquals(offenders, []);
});

async function* walkTs(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* walkTs(p);
    else if (e.name.endsWith(".ts")) yield p;
  }
}

Deno.test("loaders parse data only: text that looks like code stays text", async () => {
  const g = globalThis as Record<string, unknown>;
  const table = await readCsvTable(
    await file(
      "s.csv",
      'run_id,"${globalThis.pwned=1}"\n"__proto__","(()=>{globalThis.pwned=2})()"\n',
    ),
  );
  assertEquals(table.columnNames(), ["run_id", "${globalThis.pwned=1}"]);
  assertEquals(table.objects()[0], {
    run_id: "__proto__",
    "${globalThis.pwned=1}": "(()=>{globalThis.pwned=2})()",
  });
  const specials = ["<pad>", "<bos>", "<eos>", "<unk>"];
  const tok = await WordTokenizer.load(
    await file(
      "t.json",
      JSON.stringify({
        format: TOKENIZER_FORMAT,
        words: [...specials, "__proto__", "constructor"],
      }),
    ),
  );
  assertEquals([tok.idOf("__proto__"), tok.idOf("constructor")], [4, 5]);
  const prefs = await loadPreferences(
    await file("p.csv", 'prompt,chosen,rejected\n"${globalThis.pwned=3}",__proto__,constructor\n'),
  );
  assertEquals(prefs.objects()[0], {
    prompt: "${globalThis.pwned=3}",
    chosen: "__proto__",
    rejected: "constructor",
  });
  assertEquals(g.pwned, undefined);
});

Deno.test("(cleanup) remove the catalogue's files", async () => {
  await Deno.remove(tmp, { recursive: true });
});
