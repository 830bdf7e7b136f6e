import { assertEquals } from "./assert.ts";
import * as aq from "arquero";
import { stackTables } from "../lib/sweep/run_tables.ts";

Deno.test("stackTables() keeps every column when a PPO table comes before a DPO table", () => {
  const ppo = aq.table({ step: [0, 1], "loss/policy": [1, 0.9], "kl/ref": [0, 0.1] });
  const dpo = aq.table({
    step: [0],
    "loss/dpo": [0.69],
    "rewards/chosen": [0.1],
    "rewards/rejected": [-0.1],
    "kl/ref": [0.05],
  });
  // arquero's concat, the bug this replaces, drops the second table's own columns
  assertEquals(ppo.concat(dpo).columnNames().includes("loss/dpo"), false);
  const both = stackTables([ppo, dpo]);
  assertEquals(both.columnNames(), [
    "step",
    "loss/policy",
    "kl/ref",
    "loss/dpo",
    "rewards/chosen",
    "rewards/rejected",
  ]);
  assertEquals(both.objects(), [
    {
      step: 0,
      "loss/policy": 1,
      "kl/ref": 0,
      "loss/dpo": null,
      "rewards/chosen": null,
      "rewards/rejected": null,
    },
    {
      step: 1,
      "loss/policy": 0.9,
      "kl/ref": 0.1,
      "loss/dpo": null,
      "rewards/chosen": null,
      "rewards/rejected": null,
    },
    {
      step: 0,
      "loss/policy": null,
      "kl/ref": 0.05,
      "loss/dpo": 0.69,
      "rewards/chosen": 0.1,
      "rewards/rejected": -0.1,
    },
  ]);
  // the other order keeps them too
  assertEquals(stackTables([dpo, ppo]).columnNames().length, 6);
});

Deno.test("stackTables() respects filters and order, and stacks nothing into an empty table", () => {
  const t = aq.table({ a: [3, 1, 2] }).filter((d: { a: number }) => d.a > 1).orderby("a");
  assertEquals(stackTables([t, aq.table({ b: ["x"] })]).objects(), [
    { a: 2, b: null },
    { a: 3, b: null },
    { a: null, b: "x" },
  ]);
  const empty = stackTables([]);
  assertEquals([empty.numRows(), empty.numCols()], [0, 0]);
});
