/**
 * Tests of the notebook session (lib/notebook/session.ts): what each method's trainer takes
 * at the session's config plus overrides, and what `summary()` reads back from a results
 * directory (a temporary one). Nothing here trains; the stages and runs themselves are
 * exercised by `deno task notebooks`.
 */
import { assertEquals, assertNotEquals } from "./assert.ts";
import { join } from "node:path";
import { openSession } from "../lib/notebook/mod.ts";

// The session picks its backend from RLHF_BACKEND; set it only while opening, since the
// environment is the whole test process's: left set, every later subprocess (a sweep in
// reproducibility_test, say) would inherit it.
async function openCpuSession(results: string) {
  const before = Deno.env.get("RLHF_BACKEND");
  Deno.env.set("RLHF_BACKEND", "cpu");
  return await openSession("quick", { results, log: () => {} }).finally(() => {
    if (before === undefined) Deno.env.delete("RLHF_BACKEND");
    else Deno.env.set("RLHF_BACKEND", before);
  });
}
const session = await openCpuSession("/tmp/rlhf-kit-unused");

Deno.test({
  name: "Session.runConfig() maps cdpo to the dpo loss with label smoothing dpo.cdpoEpsilon",
  fn() {
    const run = session.runConfig("cdpo", { dpo: { beta: 0.3, cdpoEpsilon: 0.2 } });
    assertEquals(run.method, "cdpo");
    assertEquals(run.trainer.lossType, "dpo");
    assertEquals(run.trainer.labelSmoothing, 0.2);
    assertEquals(run.trainer.beta, 0.3);
    assertEquals(run.trainer.seed, session.config.seed);
  },
});

Deno.test({
  name: "Session.runConfig() gives ppo the session's ppo section plus the overrides",
  fn() {
    const run = session.runConfig("ppo", { ppo: { beta: 0.2, adaptiveKlTarget: 1 } });
    assertEquals(run.trainer.beta, 0.2);
    assertEquals(run.trainer.adaptiveKlTarget, 1);
    assertEquals(run.trainer.iterations, session.config.ppo.iterations);
    assertEquals(run.valueInit, session.config.ppo.valueInit);
    assertNotEquals(session.config.ppo.beta, 0.2, "the session's config is unchanged");
  },
});

Deno.test({
  name: "Session.runConfig() gives bon its n and the seed of the session",
  fn() {
    const run = session.runConfig("bon", { bon: { n: 8 } });
    assertEquals([run.n, run.seed], [8, session.config.seed]);
  },
});

Deno.test({
  name: "Session.summary() returns the figures it wrote, Gao fits and the report of summary.csv",
  async fn() {
    const results = await Deno.makeTempDir({ prefix: "session-summary-" });
    try {
      const s = await openCpuSession(results);
      await Deno.mkdir(s.root, { recursive: true });
      const run = (method: string, beta: number, seed: number, gold: number, kl: number) =>
        `${method}__beta${beta}__seed${seed}__aaaaaaaa,${method},${beta},${seed},${gold},${kl}`;
      await Deno.writeTextFile(
        join(s.root, "summary.csv"),
        ["run_id,method,beta,seed,reward_gold,kl", run("dpo", 0.1, 1, 0.2, 0.1)].join("\n") +
          "\n" + run("dpo", 0.1, 2, 0.3, 0.2) + "\n",
      );
      const out = await s.summary();
      assertEquals(out.runs.numRows(), 2);
      assertEquals(out.grouped.numRows(), 1, "two seeds of one β: one group");
      assertEquals(Object.keys(out.figs), ["frontier"], "no proxy column, no metrics");
      assertEquals(out.figs.frontier!.data.length > 0, true);
      assertEquals(out.fits.columnNames().includes("alpha"), true);
      assertEquals(out.report, join(s.root, "report.html"));
      assertEquals(out.plots.some((p) => p.endsWith("frontier.html")), true);
    } finally {
      await Deno.remove(results, { recursive: true });
    }
  },
});
