import { assertEquals, assertThrows } from "./assert.ts";
import { parseOverrides } from "../lib/sweep/overrides.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { resolveConfig, type Schema } from "../lib/util/schema.ts";

interface Cfg {
  seed: number;
  method: "ppo" | "dpo" | "ipo";
  name: string;
  ppo: { beta: number; whiten: boolean; target_kl: number | null; epochs: number };
  data: { sizes: number[]; tags: string[] };
}
const schema: Schema<Cfg> = {
  seed: { type: "number", int: true, min: 0, doc: "seed" },
  method: { type: "enum", values: ["ppo", "dpo", "ipo"], doc: "method" },
  name: { type: "string", nonEmpty: true, doc: "run name" },
  ppo: {
    type: "section",
    doc: "PPO",
    schema: {
      beta: { type: "number", gt: 0, doc: "KL coefficient" },
      whiten: { type: "boolean", doc: "whiten advantages" },
      target_kl: { type: "number", gt: 0, nullable: true, doc: "adaptive KL target" },
      epochs: { type: "number", int: true, min: 1, doc: "epochs" },
    },
  },
  data: {
    type: "section",
    doc: "data",
    schema: {
      sizes: { type: "numberList", int: true, min: 1, doc: "sizes" },
      tags: { type: "stringList", doc: "tags" },
    },
  },
};
const defaults: Cfg = {
  seed: 0,
  method: "ppo",
  name: "run",
  ppo: { beta: 0.1, whiten: true, target_kl: null, epochs: 4 },
  data: { sizes: [8], tags: [] },
};
const parse = (...args: string[]) => parseOverrides(args, schema, { noGrid: ["name"] });

Deno.test("parseOverrides() reads values, grids, options and positionals", () => {
  const p = parse(
    "exp",
    "--ppo.beta=0.05,0.1",
    "--seed",
    "1,2,3",
    "--preset",
    "quick",
    "--jobs",
    "4",
    "--shard",
    "0/2",
    "--ppo.whiten",
    "false",
    "--name",
    "x",
    "--data.sizes",
    "1,2",
    "--ppo.target_kl",
    "none",
    "--ppo.epochs",
    "+2",
    "--dry-run",
    "--",
    "--rest",
  );
  assertEquals(p.options, {
    dryRun: true,
    yes: false,
    help: false,
    preset: "quick",
    jobs: 4,
    shard: { index: 0, count: 2 },
  });
  assertEquals(p.overrides, {
    ppo: { whiten: false, target_kl: null, epochs: 2 },
    name: "x",
    data: { sizes: [1, 2] },
  });
  assertEquals(p.grid, [{ path: "ppo.beta", values: [0.05, 0.1] }, {
    path: "seed",
    values: [1, 2, 3],
  }]);
  assertEquals(p.positional, ["exp", "--rest"]);
});

Deno.test("parseOverrides() gives overrides that resolveConfig accepts", () => {
  const p = parse("--method", "dpo", "--ppo.beta", "1e-2", "--data.tags", "a,b", "-h");
  const c = resolveConfig("config", schema, defaults, p.overrides);
  assertEquals(c.method, "dpo");
  assertEquals(c.ppo.beta, 0.01);
  assertEquals(c.data.tags, ["a", "b"]);
  assertEquals(p.options.help, true);
});

const BAD: [string[], string][] = [
  [
    ["--ppo.beta", "0.05,x"],
    '--ppo.beta 0.05,x: "x" is not a number (ppo.beta must be a number > 0)',
  ],
  [
    ["--ppo.bta", "1"],
    "unknown key --ppo.bta (did you mean --ppo.beta?); known keys in ppo: --ppo.beta, " +
    "--ppo.whiten, --ppo.target_kl, --ppo.epochs",
  ],
  [
    ["--beta", "1"],
    "unknown key --beta (did you mean --ppo.beta?); known keys: --seed, --method, --name, " +
    "--ppo.beta, --ppo.whiten, --ppo.target_kl, --ppo.epochs, --data.sizes, --data.tags; " +
    "options: --preset, --jobs, --shard, --results, --dry-run, --yes, --help",
  ],
  [["--ppo.beta"], "--ppo.beta is missing its value; it takes a number > 0"],
  [["--ppo.beta", "--seed", "1"], "--ppo.beta is missing its value; it takes a number > 0"],
  [["--ppo.whiten"], "--ppo.whiten is missing its value; it takes true or false"],
  [
    ["--seed", "1", "--seed=2"],
    '--seed is given twice ("1" and "2"); give it once, with a comma list for a grid: --seed 1,2',
  ],
  [["--jobs", "1", "--jobs", "2"], '--jobs is given twice ("1" and "2"); give it once'],
  [
    ["--ppo", "1"],
    "--ppo is a section, not a value; set its keys, e.g. --ppo.beta " +
    "(ppo has: beta, whiten, target_kl, epochs)",
  ],
  [["--ppo.beta.x", "1"], "--ppo.beta.x: ppo.beta is a number > 0, not a section"],
  [["--seed", "-1"], "--seed -1: seed must be an integer >= 0, got -1"],
  [["--seed", "1.5"], "--seed 1.5: seed must be an integer >= 0, got 1.5"],
  [["--ppo.beta", "0.1,-1"], "--ppo.beta 0.1,-1: ppo.beta must be a number > 0, got -1"],
  [["--ppo.whiten", "maybe"], '--ppo.whiten maybe: "maybe" is not true or false'],
  [["--method", "dpx"], '--method dpx: method must be one of "ppo", "dpo", "ipo", got "dpx"'],
  [["--seed", "1,2,1"], "--seed 1,2,1: 1 appears twice in the grid"],
  [["--seed", "1,,2"], '--seed 1,,2: "" is not a number (seed must be an integer >= 0)'],
  [["--jobs", "0"], '--jobs must be a positive integer, got "0"'],
  [["--jobs", "2,4"], '--jobs must be a positive integer, got "2,4" (options cannot be grids)'],
  [["--shard", "2/2"], '--shard must be i/n with integers 0 <= i < n (e.g. 0/4), got "2/2"'],
  [["--preset", "a,b"], '--preset takes one preset name, got "a,b" (options cannot be grids)'],
  [["--name", "a,b"], "--name a,b is a grid, but name takes a single value (a non-empty string)"],
  [["--=3"], '"--=3" has no key name; use --key value'],
  [["--ppo.beta", "1e-400"], "--ppo.beta 1e-400: 1e-400 underflows to 0 in double precision"],
  [["--ppo.beta", "0.1,1e400"], "--ppo.beta 0.1,1e400: 1e400 overflows double precision"],
];

for (const [args, message] of BAD) {
  Deno.test(`parseOverrides(${args.join(" ")}) fails with a message naming it`, () => {
    const e = assertThrows(() => parse(...args), ConfigError);
    assertEquals(e.message, message);
  });
}
