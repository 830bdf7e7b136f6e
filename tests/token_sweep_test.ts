import { join } from "node:path";
import { initBackend } from "../lib/backend/mod.ts";
import { tokenOracleStats } from "../lib/eval/token_oracle.ts";
import { ConfigError } from "../lib/util/errors.ts";
import {
  predictLanding,
  TOKEN_SWEEP_DEFAULTS,
  tokenFigures,
  tokenSweep,
  tokenSweepConfig,
  tokenSweepTask,
} from "../experiments/token.ts";
import { assert, assertAlmostEquals, assertEquals, assertLess, assertThrows } from "./assert.ts";
import { withTempDir } from "./_bad_input.ts";

await initBackend("cpu");

Deno.test("tokenSweep() records exact reward and KL beside π*_β and the predicted landing point, and writes its tables and plots", async () => {
  await withTempDir(async (dir) => {
    const c = tokenSweepConfig({ methods: ["grpo_kl_reward", "dr_grpo"], beta: [0.5], seed: [1] });
    const res = await tokenSweep(c, { root: dir, png: false });
    const rows = res.summary.objects() as Record<string, number | string>[];
    assertEquals(rows.map((r) => [r.method, r.prediction]), [
      ["grpo_kl_reward", "pi_star"],
      ["dr_grpo", "fixed_point"],
    ]);
    const star = tokenOracleStats(res.task, 0.5);
    for (const r of rows) {
      assertEquals([r.oracle_reward, r.oracle_kl], [star.reward, star.kl]);
      assertAlmostEquals(r.kl_gap as number, (r.kl as number) / star.kl - 1, 1e-12);
      assertAlmostEquals(
        r.kl_off as number,
        (r.kl as number) / (r.predicted_kl as number) - 1,
        1e-12,
      );
    }
    // k1 in the reward lands on π*_β; k3 in the loss lands on its own fixed point, below it.
    assertLess(Math.abs(rows[0]!.kl_gap as number), 0.05);
    assertLess(Math.abs(rows[1]!.kl_off as number), 0.05);
    assertLess(rows[1]!.kl_gap as number, -0.1);
    assertEquals(res.grouped.numRows(), 2);
    const grouped = res.grouped.objects() as Record<string, unknown>[];
    assertEquals(grouped.map((g) => [g.method, g.prediction]), [
      ["dr_grpo", "fixed_point"],
      ["grpo_kl_reward", "pi_star"],
    ]);
    for (const f of ["summary.csv", "summary_by_method.csv", "oracle.csv", "plots/frontier.html"]) {
      assert((await Deno.stat(join(dir, f))).isFile, f);
    }
    const frontier = await Deno.readTextFile(join(dir, "plots/frontier.html"));
    assert(frontier.includes("Dr. GRPO"), "the frontier names its methods");
    const caption = String(tokenFigures(res).frontier.layout.meta?.caption);
    assert(caption.includes("KL exact: every response enumerated."), caption);
  }, "token-sweep-");
});

Deno.test("tokenSweep() is deterministic: the same config gives the same numbers", async () => {
  const c = tokenSweepConfig({ methods: ["rloo"], beta: [1], seed: [2] });
  const a = await tokenSweep(c), b = await tokenSweep(c);
  assertEquals(a.summary.objects(), b.summary.objects());
});

Deno.test("tokenSweepTask() reads a task file named by --task", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "task.json");
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        tokens: ["a", "b"],
        maxLength: 2,
        contexts: [{
          name: "hello",
          refProbs: { "": [0.5, 0.3, 0.2], "a": [0.1, 0.1, 0.8], "b": [0.3, 0.3, 0.4] },
          rewards: { "": 0, "a": 1, "b": 0.5, "a a": 2, "a b": 0, "b a": 1, "b b": 0.2 },
        }],
      }),
    );
    const task = await tokenSweepTask(tokenSweepConfig({ task: path }));
    assertEquals([task.P, task.V, task.T], [1, 2, 2]);
    assertEquals(predictLanding(task, "ppo", 1, TOKEN_SWEEP_DEFAULTS).kind, "pi_star");
    const seeded = await tokenSweepTask(TOKEN_SWEEP_DEFAULTS);
    assertEquals([seeded.P, seeded.V, seeded.T], [3, 4, 3]);
  }, "token-sweep-");
});

Deno.test("tokenSweepConfig() names the field and the value of a bad setting", () => {
  assertThrows(
    () => tokenSweepConfig({ methods: ["ppo", "orpo"] }),
    ConfigError,
    'token.methods must be a list of "ppo", "grpo", "dr_grpo", "grpo_kl_reward", "rloo", "online_dpo", "kto", got "orpo"',
  );
  assertThrows(() => tokenSweepConfig({ beta: [0.1, 0] }), ConfigError, "token.beta");
});
