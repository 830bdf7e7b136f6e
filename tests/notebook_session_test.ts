/**
 * Tests of the notebook session's run configs (lib/notebook/session.ts): what each method's
 * trainer takes at the session's config plus overrides. Nothing here trains or writes; the
 * stages and runs themselves are exercised by `deno task notebooks`.
 */
import { assertEquals, assertNotEquals } from "./assert.ts";
import { openSession } from "../lib/notebook/mod.ts";

// The session picks its backend from RLHF_BACKEND; set it only while opening, since the
// environment is the whole test process's: left set, every later subprocess (a sweep in
// reproducibility_test, say) would inherit it.
const before = Deno.env.get("RLHF_BACKEND");
Deno.env.set("RLHF_BACKEND", "cpu");
const session = await openSession("quick", { results: "/tmp/rlhf-kit-unused", log: () => {} })
  .finally(() => {
    if (before === undefined) Deno.env.delete("RLHF_BACKEND");
    else Deno.env.set("RLHF_BACKEND", before);
  });

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
