/**
 * `deno task sweep` refuses a bad command line before any work, with one line that names
 * the argument, the bad value and what is allowed: values of every kind of field, unknown
 * keys, sections, grids, the sweep's own options, where it may write and the environment
 * variables it reads. Config rules that tie fields together are in canonical_plan_test.ts.
 *
 * Every canonical case is checked in this process through `parseSweep` (which parses and
 * plans, and does nothing else) followed by `checkSweep`; a representative part of them,
 * and every case that needs the task's permissions or an environment variable, also runs
 * as `deno task sweep`: exit code 2, one line on stderr starting with `error:`, no stack
 * trace. No results directory may appear.
 */
import { join } from "node:path";
import { parseSweep } from "../experiments/sweep.ts";
import { checkSweep } from "../experiments/canonical/preflight.ts";
import { checkRefusedCommands, type RefusedCommand, withTempDir } from "./_bad_input.ts";
import { assertEquals } from "./assert.ts";

/** The command line's parsing and planning, and the checks that precede any work. */
async function parseAndCheck(args: readonly string[]): Promise<void> {
  const req = await parseSweep(args);
  if (req) await checkSweep(req);
}

/** Bad canonical sweep command lines, all writing (if they wrote) under `results`. */
function canonicalCases(results: string): RefusedCommand[] {
  const tiny = ["canonical", "--preset", "tiny", "--results", results];
  const sweep = (...args: string[]) => [...tiny, ...args];
  return [
    // values: numbers
    {
      args: sweep("--ppo.lr", "abc"),
      process: true,
      message: '--ppo.lr abc: "abc" is not a number (ppo.lr must be a number > 0)',
    },
    {
      args: sweep("--ppo.lr", "1e999"),
      message: "--ppo.lr 1e999: 1e999 overflows double precision",
    },
    {
      args: sweep("--ppo.lr", "-0.1"),
      message: "--ppo.lr -0.1: ppo.lr must be a number > 0, got -0.1",
    },
    {
      args: sweep("--ppo.lr", "1e-400"),
      message: "--ppo.lr 1e-400: 1e-400 underflows to 0 in double precision",
    },
    {
      args: sweep("--ppo.beta", "1e-400"),
      process: true,
      message: "--ppo.beta 1e-400: 1e-400 underflows to 0 in double precision",
    },
    {
      args: sweep("--ppo.beta", "-0.1"),
      message: "--ppo.beta -0.1: ppo.beta must be a number >= 0, got -0.1",
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
      args: sweep("--ppo.adaptiveKlTarget", "0"),
      message: "--ppo.adaptiveKlTarget 0: ppo.adaptiveKlTarget must be a number > 0 or null, got 0",
    },
    {
      args: sweep("--ppo.earlyStopKl", "-1"),
      message: "--ppo.earlyStopKl -1: ppo.earlyStopKl must be a number > 0 or null, got -1",
    },
    {
      args: sweep("--dpo.beta", "0"),
      message: "--dpo.beta 0: dpo.beta must be a number > 0, got 0",
    },
    {
      args: sweep("--dpo.beta", "0.1,x"),
      message: '--dpo.beta 0.1,x: "x" is not a number (dpo.beta must be a number > 0)',
    },
    {
      args: sweep("--dpo.cdpoEpsilon", "0.5"),
      message: "--dpo.cdpoEpsilon 0.5: dpo.cdpoEpsilon must be a number > 0 and < 0.5, got 0.5",
    },
    {
      args: sweep("--bon.n", "0,4"),
      message: "--bon.n 0,4: bon.n must be an integer >= 1, got 0",
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
    // seeds: 32-bit unsigned integers
    {
      args: sweep("--seed", "1.5"),
      process: true,
      message: "--seed 1.5: seed must be an integer >= 0 and <= 4294967295, got 1.5",
    },
    {
      args: sweep("--seed", "-1"),
      message: "--seed -1: seed must be an integer >= 0 and <= 4294967295, got -1",
    },
    {
      args: sweep("--seed", "4294967296"),
      message: "--seed 4294967296: seed must be an integer >= 0 and <= 4294967295, got 4294967296",
    },
    {
      args: sweep("--seed", "1e300"),
      message: "--seed 1e300: seed must be an integer >= 0 and <= 4294967295, got 1e+300",
    },
    {
      args: sweep("--seed", ""),
      message: '--seed : "" is not a number (seed must be an integer >= 0 and <= 4294967295)',
    },
    // booleans and enums
    {
      args: sweep("--ppo.whitenRewards", "yes"),
      message: '--ppo.whitenRewards yes: "yes" is not true or false',
    },
    {
      args: sweep("--dpo.lengthNormalise", "1"),
      message: '--dpo.lengthNormalise 1: "1" is not true or false',
    },
    {
      args: sweep("--ppo.klEstimator", "k9"),
      process: true,
      message:
        '--ppo.klEstimator k9: ppo.klEstimator must be one of "k1", "k2", "k3", "full", got "k9"',
    },
    {
      args: sweep("--ppo.valueInit", "random"),
      message: '--ppo.valueInit random: ppo.valueInit must be one of "reward", "sft", got "random"',
    },
    {
      args: sweep("--gold", "sentiment"),
      message:
        '--gold sentiment: gold must be one of "vader", "target_words", "length", got "sentiment"',
    },
    {
      args: sweep("--bon.selectBy", "oracle"),
      message: '--bon.selectBy oracle: bon.selectBy must be one of "proxy", "gold", got "oracle"',
    },
    {
      args: sweep("--prefs.annotator", "human"),
      message:
        '--prefs.annotator human: prefs.annotator must be one of "bradley_terry", "plackett_luce", "noiseless", got "human"',
    },
    {
      args: sweep("--data.sftCategory", "cooking"),
      message:
        '--data.sftCategory cooking: data.sftCategory must be one of "news", "editorial", "reviews"',
      partial: true,
    },
    {
      args: sweep("--data.tokenizer", "unigram"),
      message:
        '--data.tokenizer unigram: data.tokenizer must be one of "bpe", "word", got "unigram"',
    },
    // lists
    {
      args: sweep("--methods", "dpo,orpo"),
      message:
        '--methods dpo,orpo: methods must be a list of "ppo", "ppo_gt", "grpo", "dr_grpo", "rloo", "online_dpo", "dpo", "cdpo", "ipo", "hinge", "simpo", "kto", "bon", got "orpo"',
    },
    {
      args: sweep("--methods", ""),
      message:
        '--methods : methods must be a list of "ppo", "ppo_gt", "grpo", "dr_grpo", "rloo", "online_dpo", "dpo", "cdpo", "ipo", "hinge", "simpo", "kto", "bon", got []',
    },
    // grids: every value once
    {
      args: sweep("--seed", "1,1"),
      process: true,
      message: "--seed 1,1: 1 appears twice in the grid",
    },
    {
      args: sweep("--ppo.beta", "0.1,0.10"),
      message: "--ppo.beta 0.1,0.10: 0.1 appears twice in the grid",
    },
    { args: sweep("--bon.n", "1,4,4"), message: "--bon.n 1,4,4: 4 appears twice in the grid" },
    // keys and the shape of the command line
    {
      args: sweep("--ppo.bta", "0.1"),
      process: true,
      message:
        "unknown key --ppo.bta (did you mean --ppo.beta or --dpo.beta or --grpo.beta?); known keys in ppo: --ppo.iterations",
      partial: true,
    },
    {
      args: sweep("--modle.dModel", "8"),
      message: "unknown key --modle.dModel (did you mean --model.dModel?); known keys: --seed,",
      partial: true,
    },
    {
      // renamed: the old name is not silently ignored
      args: sweep("--ppo.klTarget", "6"),
      message: "unknown key --ppo.klTarget; known keys in ppo: --ppo.iterations,",
      partial: true,
    },
    {
      args: sweep("--ppo"),
      process: true,
      message:
        "--ppo is a section, not a value; set its keys, e.g. --ppo.iterations (ppo has: iterations,",
      partial: true,
    },
    {
      args: sweep("--ppo.beta.x", "1"),
      message: "--ppo.beta.x: ppo.beta is a number >= 0, not a section",
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
    { args: sweep("--=3"), message: '"--=3" has no key name; use --key value' },
    // the sweep's own options
    {
      args: sweep("--preset", "huge"),
      message: '--preset is given twice ("tiny" and "huge"); give it once',
    },
    {
      args: ["canonical", "--preset", "huge", "--results", results],
      message: 'unknown preset "huge"; allowed: quick, default, full, tiny',
    },
    {
      args: sweep("--jobs", "0"),
      process: true,
      message: '--jobs must be a positive integer, got "0"',
    },
    {
      args: sweep("--jobs", "1,2"),
      message: '--jobs must be a positive integer, got "1,2" (options cannot be grids)',
    },
    {
      args: ["canonical", "--preset", "tiny,quick", "--results", results],
      message: '--preset takes one preset name, got "tiny,quick" (options cannot be grids)',
    },
    {
      args: sweep("--shard", "3/2"),
      process: true,
      message: '--shard must be i/n with integers 0 <= i < n (e.g. 0/4), got "3/2"',
    },
    {
      args: sweep("--dry-run=maybe"),
      message: "--dry-run is a flag: give it alone or as --dry-run=true|false",
    },
    {
      args: ["nosuchexp", "--results", results],
      process: true,
      message: 'unknown experiment "nosuchexp"; known: canonical, bandit, token',
    },
    {
      args: sweep("extra"),
      process: true,
      message: 'unexpected argument "extra"; usage: deno task sweep <experiment>',
      partial: true,
    },
    {
      args: ["--preset", "tiny", "--results", results],
      process: true,
      message: "no experiment named; usage: deno task sweep",
      partial: true,
    },
    // where it may write (the task's permissions), and the environment
    {
      args: ["canonical", "--preset", "tiny", "--results", "/etc/rlhf-kit"],
      processOnly: true,
      message:
        "--results /etc/rlhf-kit: this process may not write to /etc/rlhf-kit/canonical_tiny (deno task sweep and reproduce write only under results/ and /tmp)",
    },
    {
      args: tiny,
      env: { RLHF_BACKEND: "quantum" },
      message: 'unknown backend "quantum"; allowed: auto, tensorflow, webgpu, wasm, cpu',
    },
    {
      args: tiny,
      env: { RLHF_FAULT: "nan:dpo" },
      message: 'RLHF_FAULT must be nan:<method or run id>:<step> (e.g. nan:dpo:3), got "nan:dpo"',
    },
    {
      args: tiny,
      env: { RLHF_FAULT: "nan:bon:1" },
      message:
        'RLHF_FAULT "nan:bon:1" names "bon", which is neither a method that trains (ppo, ppo_gt, grpo, dr_grpo, rloo, online_dpo, dpo, cdpo, ipo, hinge, simpo, kto) nor a run id',
    },
    {
      args: tiny,
      env: { RLHF_FAULT: "nan:ipo:1" },
      message:
        'RLHF_FAULT targets "ipo", which is not a method or run of this sweep (methods: ppo, dpo, bon)',
    },
  ];
}

Deno.test("bad canonical sweep command lines are refused before any work with one clear line", async () => {
  await withTempDir(async (dir) => {
    const results = join(dir, "results");
    const cases = canonicalCases(results);
    const ran = await checkRefusedCommands("sweep", cases, {
      parse: parseAndCheck,
      untouched: [results],
    });
    // every case without an environment in this process; a third or so also as processes
    assertEquals(ran.inProcess, cases.filter((c) => !c.env && !c.processOnly).length);
    assertEquals(ran.subprocess, cases.filter((c) => c.env || c.process || c.processOnly).length);
  }, "sweep-cli-");
});

Deno.test("bad bandit sweep command lines are refused before any work", async () => {
  await withTempDir(async (dir) => {
    const results = join(dir, "results");
    const bandit = (...args: string[]) => ["bandit", "--results", results, ...args];
    await checkRefusedCommands("sweep", [
      {
        args: bandit("--beta", "0.1,0"),
        message: "--beta 0.1,0: beta must be a list of numbers > 0, got 0",
      },
      { args: bandit("--prompts", "2,3"), message: "--prompts takes a single value" },
      { args: bandit("extra"), message: 'unexpected argument "extra"' },
    ], { untouched: [results] });
  }, "sweep-cli-");
});

Deno.test("bad token sweep command lines are refused before any work", async () => {
  await withTempDir(async (dir) => {
    const results = join(dir, "results");
    const token = (...args: string[]) => ["token", "--results", results, ...args];
    await checkRefusedCommands("sweep", [
      {
        args: token("--methods", "ppo,orpo"),
        message: "--methods ppo,orpo: methods must be a list of",
        partial: true,
      },
      { args: token("--vocab", "2,3"), message: "--vocab takes a single value" },
      {
        args: token("--task", join(dir, "none.json"), "--methods", "ppo"),
        message: `${join(dir, "none.json")}: file not found`,
        partial: true,
      },
    ], { untouched: [results] });
  }, "sweep-cli-");
});

Deno.test("parseSweep() makes --ppo.lr 0.1,0.2 a grid axis like any field: two runs per β", async () => {
  const req = await parseSweep([
    "canonical",
    "--preset",
    "tiny",
    "--methods",
    "ppo",
    "--ppo.lr",
    "0.1,0.2",
  ]);
  const runs = req!.plan.runs.map((r) => [r.config.ppo.beta, r.config.ppo.lr, r.labels["ppo.lr"]]);
  assertEquals(runs, [[0.1, 0.1, 0.1], [0.1, 0.2, 0.2], [1, 0.1, 0.1], [1, 0.2, 0.2]]);
});
