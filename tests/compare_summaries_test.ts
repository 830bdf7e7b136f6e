import { summaryDifferences } from "../tools/slurm/compare_summaries.ts";
import { assertEquals } from "./assert.ts";

const columns = ["run_id", "method", "beta", "reward_gold", "wall_seconds"];
const rows = [
  { run_id: "a__ppo__0.1__1", method: "ppo", beta: 0.1, reward_gold: 0.25, wall_seconds: 3 },
  { run_id: "a__bon__n4__1", method: "bon", beta: null, reward_gold: 0.5, wall_seconds: 1 },
];

Deno.test("summaryDifferences() matches rows by run_id, whatever their order and timings", () => {
  const reordered = [
    { ...rows[1]!, wall_seconds: 9, beta: "" }, // empty CSV cell and null are both missing
    { ...rows[0]!, wall_seconds: 7, reward_gold: "0.25" }, // the same number as text
  ];
  assertEquals(summaryDifferences({ columns, rows }, { columns, rows: reordered }), []);
});

Deno.test("summaryDifferences() names changed values, missing runs and one-sided columns", () => {
  const other = {
    columns: [...columns, "kl"],
    rows: [{ ...rows[0]!, reward_gold: 0.26, kl: 0.1 }],
  };
  assertEquals(summaryDifferences({ columns, rows }, other), [
    "column kl only in the second",
    "run a__bon__n4__1 only in the first",
    "run a__ppo__0.1__1: reward_gold is 0.25 in the first, 0.26 in the second",
  ]);
  assertEquals(summaryDifferences({ columns, rows }, other, ["kl", "reward_gold"]), [
    "run a__bon__n4__1 only in the first",
  ]);
});

Deno.test("summaryDifferences() reports a run listed twice", () => {
  const twice = { columns, rows: [rows[0]!, rows[0]!, rows[1]!] };
  assertEquals(summaryDifferences({ columns, rows }, twice), [
    "run a__ppo__0.1__1 twice in the second",
  ]);
});
