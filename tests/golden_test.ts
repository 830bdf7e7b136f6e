/**
 * Golden runs: tiny SFT, reward-model, PPO and DPO trainings (tests/_golden_runs.ts) rerun
 * on the cpu backend must reproduce the per-step numbers committed in
 * `tests/golden/<name>.json`, so drift in any layer (data helpers, Rng, model, losses,
 * optimiser, trainers, tfjs) fails here even when two fresh runs still agree.
 *
 * The comparison is exact. The cpu backend is single-threaded JavaScript over Float32Arrays
 * with a fixed operation order, and V8's Math functions are deterministic ports of fdlibm,
 * so the same Deno and tfjs should give the same bits on any machine (checked across
 * processes on the development machine); the metrics are float32 values (or JS means of
 * them), which JSON round-trips exactly. Any difference is a real change to be explained,
 * not noise; a new Deno (V8) or tfjs may move the numbers, and the failure names them.
 */
import {
  contextChanges,
  GOLDEN_RUNS,
  type GoldenRecord,
  numericChanges,
  readGolden,
  recordGolden,
  UPDATE_COMMAND,
} from "./_golden_runs.ts";
import { assert, assertEquals, assertGreater, assertNotEquals } from "./assert.ts";

/** At most this many differing numbers are listed in a failure. */
const SHOWN = 20;

/** The failure message of a drifted run: what moved, what else differs, what to do. */
function driftMessage(name: string, numeric: string[], context: string[]): string {
  const lines = [
    `golden run "${name}" differs from tests/golden/${name}.json (exact comparison, cpu backend):`,
    ...numeric.slice(0, SHOWN).map((d) => `  ${d}`),
    ...(numeric.length > SHOWN ? [`  … and ${numeric.length - SHOWN} more`] : []),
    context.length
      ? "what else differs from the recorded run (a likely cause):"
      : "config, model, backend and Deno/V8/tfjs versions are as recorded.",
    ...context.map((d) => `  ${d}`),
    `If the change is intended, regenerate with \`${UPDATE_COMMAND}\` and say in the commit ` +
    `message which change moved the numbers and why.`,
  ];
  return lines.join("\n");
}

for (const run of GOLDEN_RUNS) {
  Deno.test(`golden run ${run.name} reproduces tests/golden/${run.name}.json step by step`, async () => {
    const want = await readGolden(run.name);
    assert(want, `tests/golden/${run.name}.json is missing: run \`${UPDATE_COMMAND}\``);
    const got = await recordGolden(run);
    const numeric = numericChanges(want, got);
    if (numeric.length) {
      throw new Error(driftMessage(run.name, numeric, contextChanges(want, got)));
    }
  });
}

Deno.test("golden files pin every run's metrics at every step, and training moved them", async () => {
  for (const run of GOLDEN_RUNS) {
    const g = await readGolden(run.name);
    assert(g, `tests/golden/${run.name}.json is missing: run \`${UPDATE_COMMAND}\``);
    assertEquals(g.backend, "cpu", run.name);
    assertEquals(g.metrics, [...run.metrics], run.name);
    assertGreater(g.steps.length, 5, `${run.name}: too few steps to show drift`);
    for (const [i, s] of g.steps.entries()) {
      assertEquals(Object.keys(s), ["step", ...run.metrics], `${run.name} step ${i + 1}`);
      assertEquals(s.step, i + 1, `${run.name}: one entry per step`);
    }
    const loss = run.metrics[0]!;
    assertNotEquals(g.steps[0]![loss], g.steps.at(-1)![loss], `${run.name}: ${loss} never moved`);
  }
});

Deno.test("numericChanges() catches a one-ulp change, a missing step and a renamed metric", () => {
  const base: GoldenRecord = {
    name: "x",
    about: "",
    backend: "cpu",
    versions: { deno: "1", v8: "1", tfjs: "1" },
    model: {
      vocabSize: 5,
      dModel: 2,
      nLayers: 1,
      nHeads: 1,
      context: 2,
      dropout: 0,
      mlpRatio: 4,
    },
    config: { lr: 1 },
    metrics: ["loss/a"],
    steps: [{ step: 1, "loss/a": 0.6931471805599453 }, { step: 2, "loss/a": 0.5 }],
  };
  assertEquals(numericChanges(base, structuredClone(base)), []);
  const ulp = structuredClone(base);
  ulp.steps[0]!["loss/a"] = 0.6931471805599454;
  assertEquals(numericChanges(base, ulp), [
    "step 1 loss/a: 0.6931471805599453 → 0.6931471805599454 (relative 1.60e-16)",
  ]);
  const short = { ...base, steps: base.steps.slice(0, 1) };
  assertEquals(numericChanges(base, short), [
    "2 steps recorded, 1 now",
    "step 2 step: 2 → undefined",
    "step 2 loss/a: 0.5 → undefined",
  ]);
  const renamed = {
    ...base,
    metrics: ["loss/b"],
    steps: base.steps.map((s) => ({ step: s.step, "loss/b": s["loss/a"]! })),
  };
  assertEquals(numericChanges(base, renamed).length, 4);
  // context alone is not drift, but is reported beside it
  const other = { ...base, config: { lr: 2 }, versions: { ...base.versions, deno: "2" } };
  assertEquals(numericChanges(base, other), []);
  assertEquals(contextChanges(base, other), ["config.lr: 1 → 2", 'versions.deno: "1" → "2"']);
});
