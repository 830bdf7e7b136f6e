/**
 * The analysis behind the sweep's figures and report, from fixture tables: checkpoint
 * points and envelopes (upper hulls checked by hand), Gao et al.'s fits per method
 * (recovering known α and β), the best, median and worst completions, and the report's
 * summary and config tables.
 */
import * as aq from "arquero";
import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import {
  checkpointEnvelopes,
  checkpointPoints,
  matchedKl,
  upperEnvelope,
} from "../experiments/canonical/envelope.ts";
import { gaoFits, sftBaseline } from "../experiments/canonical/gao_fits.ts";
import { type EvalCompletion, exampleCompletions } from "../experiments/canonical/analysis.ts";
import { summaryDisplay } from "../experiments/canonical/report.ts";
import {
  commandLineChanges,
  gridTable,
  presetChain,
  presetChanges,
} from "../experiments/canonical/report_config.ts";
import { resolvePreset } from "../experiments/canonical/presets.ts";
import { stackTables } from "../lib/sweep/run_tables.ts";

/** A table of rows that need not share their columns (`aq.from` takes the first row's). */
const tableOf = (objs: Record<string, unknown>[]) => stackTables(objs.map((o) => aq.from([o])));

const pts = (xs: [number, number][]) => xs.map(([kl, reward]) => ({ kl, reward }));
const pairs = (hull: { kl: number; reward: number }[]) => hull.map((p) => [p.kl, p.reward]);

Deno.test("upperEnvelope() keeps the upper hull from the lowest KL to the highest reward", () => {
  // (1, 0.2) lies under the segment (0, 0)–(2, 1), whose height at KL 1 is 0.5; (3, 0.5)
  // is on the hull but after the best reward; (2, 0.4) is a worse point at KL 2.
  assertEquals(
    pairs(upperEnvelope(pts([[3, 0.5], [1, 0.2], [0, 0], [2, 1], [2, 0.4], [NaN, 9]]))),
    [[0, 0], [2, 1]],
  );
  // a concave run of points is its own hull (slopes 0.6, 0.3, 0.05)
  assertEquals(
    pairs(upperEnvelope(pts([[0, 0], [1, 0.6], [2, 0.9], [4, 1]]))),
    [[0, 0], [1, 0.6], [2, 0.9], [4, 1]],
  );
  // a point on a segment is not a vertex
  assertEquals(pairs(upperEnvelope(pts([[0, 0], [1, 1], [2, 2]]))), [[0, 0], [2, 2]]);
  // a slightly negative sampled KL stays where it is; the best point first is the whole hull
  assertEquals(pairs(upperEnvelope(pts([[-0.01, 0.3], [0.5, 0.2]]))), [[-0.01, 0.3]]);
  assertEquals(upperEnvelope([]), []);
});

/** Runs of a sweep, one row each, as summary.csv holds them. */
const runs = aq.from([
  { run_id: "ppo-a", method: "ppo", beta: 0.1, n: null, seed: 1, kl: 1, reward_gold: 0.4 },
  { run_id: "ppo-b", method: "ppo", beta: 1, n: null, seed: 1, kl: 0.2, reward_gold: 0.2 },
  { run_id: "dpo-a", method: "dpo", beta: 0.1, n: null, seed: 1, kl: 2, reward_gold: 0.3 },
  { run_id: "gt-a", method: "ppo_gt", beta: 0.1, n: null, seed: 1, kl: 1, reward_gold: 0.5 },
  { run_id: "bon-1a", method: "bon", beta: null, n: 1, seed: 1, kl: 0, reward_gold: 0.08 },
  { run_id: "bon-1b", method: "bon", beta: null, n: 1, seed: 2, kl: 0, reward_gold: 0.12 },
  {
    run_id: "bon-4",
    method: "bon",
    beta: null,
    n: 4,
    seed: 1,
    kl: Math.log(4) - 3 / 4,
    reward_gold: NaN, // set below, on the curve
  },
  {
    run_id: "bon-16",
    method: "bon",
    beta: null,
    n: 16,
    seed: 1,
    kl: Math.log(16) - 15 / 16,
    reward_gold: NaN,
  },
]);

/** Gold on Gao et al.'s curves around a baseline of 0.1 (the mean of the n = 1 runs). */
const BASE = 0.1;
const bonCurve = (d: number) => d * (0.5 - 0.1 * d); // α = 0.5, β = 0.1
const rlCurve = (d: number) => d * (0.3 - 0.05 * Math.log(d)); // α = 0.3, β = 0.05
const summary = runs.derive({
  reward_gold: aq.escape((r: { n: number | null; kl: number; reward_gold: number }) =>
    r.n !== null && r.n > 1 ? BASE + bonCurve(Math.sqrt(r.kl)) : r.reward_gold
  ),
});

/** Step metrics of the PPO and DPO runs: training rows and checkpoint rows. */
const metrics = stackTables([
  tableOf([
    { step: 1, "loss/policy": 0.5 },
    { step: 2, "eval/gold": BASE + rlCurve(0.5), "eval/proxy": 0.1, "eval/kl": 0.25 },
    { step: 4, "eval/gold": BASE + rlCurve(1), "eval/proxy": 0.2, "eval/kl": 1 },
  ]).derive({ run_id: () => "ppo-a" }),
  tableOf([
    { step: 4, "eval/gold": BASE + rlCurve(2), "eval/proxy": 0.3, "eval/kl": 4 },
  ]).derive({ run_id: () => "ppo-b" }),
  tableOf([
    { step: 2, "loss/dpo": 0.69 },
    { step: 2, "eval/gold": 0.2, "eval/kl": 0.5 },
    { step: 4, "eval/gold": 0.25, "eval/kl": 0.5 },
  ]).derive({ run_id: () => "dpo-a" }),
  tableOf([{ step: 4, "eval/gold": 9, "eval/kl": 1 }]).derive({ run_id: () => "elsewhere" }),
]);

Deno.test("checkpointPoints() labels each checkpoint row with its run; envelopes per method", () => {
  const cps = checkpointPoints(metrics, summary);
  assertEquals(
    cps.map((c) => [c.run_id, c.method, c.beta, c.step, c.kl, c.reward_proxy]),
    [
      ["ppo-a", "ppo", 0.1, 2, 0.25, 0.1],
      ["ppo-a", "ppo", 0.1, 4, 1, 0.2],
      ["ppo-b", "ppo", 1, 4, 4, 0.3],
      ["dpo-a", "dpo", 0.1, 2, 0.5, null],
      ["dpo-a", "dpo", 0.1, 4, 0.5, null],
    ],
  ); // training rows and a run outside the summary are left out
  const env = checkpointEnvelopes(cps).objects() as Record<string, unknown>[];
  // PPO's gold rises with KL on a concave curve: all three are vertices; DPO's better
  // point at KL 0.5 is its hull
  assertEquals(env.map((e) => [e.method, e.kl]), [["ppo", 0.25], ["ppo", 1], ["ppo", 4], [
    "dpo",
    0.5,
  ]]);
  assertEquals(env[3]!.reward_gold, 0.25);
  assertEquals(checkpointPoints(aq.table({ step: [1], run_id: ["x"] }), summary), []);
});

Deno.test("gaoFits() recovers α and β per method from the n grid and the checkpoints", () => {
  assertAlmostEquals(sftBaseline(summary)!, BASE, 1e-15);
  const fits = gaoFits(summary, checkpointPoints(metrics, summary));
  const rows = fits.table.objects() as Record<string, unknown>[];
  assertEquals(rows.map((r) => [r.method, r.form, r.points]), [
    ["ppo", "rl", 3],
    ["dpo", "rl", 2],
    ["ppo_gt", "rl", 0],
    ["bon", "bon", 4],
  ]);
  const ppo = rows[0]!, bon = rows[3]!;
  assertAlmostEquals(ppo.alpha as number, 0.3, 1e-12);
  assertAlmostEquals(ppo.beta as number, 0.05, 1e-12);
  assertAlmostEquals(ppo.r2 as number, 1, 1e-12);
  assertAlmostEquals(bon.alpha as number, 0.5, 1e-12);
  assertAlmostEquals(bon.beta as number, 0.1, 1e-12);
  // the n = 1 runs sit at d = 0, 0.02 off the curve either way: only R² sees them
  const gains = [
    -0.02,
    0.02,
    bonCurve(Math.sqrt(Math.log(4) - 0.75)),
    bonCurve(
      Math.sqrt(Math.log(16) - 15 / 16),
    ),
  ];
  const mean = gains.reduce((a, b) => a + b) / 4;
  const ssTot = gains.reduce((a, g) => a + (g - mean) ** 2, 0);
  assertAlmostEquals(bon.r2 as number, 1 - 2 * 0.02 ** 2 / ssTot, 1e-12);
  assertEquals(rows[1]!.note, "1 distinct KL > 0 among 2 points; a fit needs 2");
  assertEquals(rows[2]!.note, "no checkpoint evaluations (its evalEvery is 0)");
  assertEquals([ppo.note, bon.note, ppo.baseline_gold], ["", "", fits.baseline]);
  // curves in the figure's units: KL = d², gold = baseline + R(d), up to the largest d
  const curve = fits.curves.find((c) => c.method === "ppo")!;
  assertEquals(fits.curves.map((c) => c.method), ["ppo", "bon"]);
  assertAlmostEquals(curve.kl.at(-1)!, 4, 1e-12);
  assertAlmostEquals(curve.reward.at(-1)!, BASE + rlCurve(2), 1e-12);
  assertEquals([curve.kl[0], curve.reward[0]], [0, BASE]);
});

Deno.test("gaoFits() fits nothing without best-of-n at n = 1, and says why", () => {
  const noBase = summary.filter((d: { n: number | null }) => d.n !== 1);
  const fits = gaoFits(noBase, checkpointPoints(metrics, noBase));
  assertEquals(fits.curves, []);
  assertEquals(fits.baseline, undefined);
  for (const r of fits.table.objects() as Record<string, unknown>[]) {
    assertEquals([r.alpha, r.note], [
      null,
      "no best-of-n run with n = 1 to give the SFT policy's gold reward",
    ]);
  }
});

Deno.test("exampleCompletions() picks each method's best, median and worst by gold", () => {
  const s = (run_id: string, method: string, gold: number): EvalCompletion => ({
    run_id,
    method,
    label: run_id,
    prompt: "p",
    completion: `${run_id}:${gold}`,
    gold,
    proxy: null,
  });
  const picked = exampleCompletions([
    s("a2", "ppo", 0.5),
    s("a2", "ppo", 0.2),
    s("a1", "ppo", -1),
    s("a1", "ppo", 0.2),
    s("a1", "ppo", 0.9),
    s("b1", "dpo", 0.1),
    s("b1", "dpo", NaN),
  ]);
  // ppo sorted: -1, 0.2 (a1), 0.2 (a2), 0.5, 0.9 → the median is the third; ties by run id
  assertEquals(picked.map((p) => `${p.method} ${p.which} ${p.completion}`), [
    "ppo best a1:0.9",
    "ppo median a2:0.2",
    "ppo worst a1:-1",
    "dpo best b1:0.1",
    "dpo median b1:0.1",
    "dpo worst b1:0.1",
  ]);
});

Deno.test("summaryDisplay() pairs each headline number with its interval", () => {
  const grouped = aq.from([{
    method: "ppo",
    beta: 0.1,
    n: null,
    "prefs.tau": 0.05,
    kl_kind: "sampled",
    reward_gold_mean: 0.41234,
    reward_gold_std: 0.1,
    reward_gold_ci_lo: 0.3,
    reward_gold_ci_hi: 0.52345,
    kl_mean: 1.5,
    kl_ci_lo: null,
    kl_ci_hi: null,
    ci_kind: "t",
    ci_level: 0.95,
    n_seeds: 3,
    n_prompts: 64,
  }]);
  const row = summaryDisplay(grouped).objects()[0] as Record<string, unknown>;
  assertEquals(Object.keys(row).slice(0, 7), [
    "method",
    "β",
    "n",
    "prefs.tau",
    "seeds",
    "prompts",
    "gold",
  ]);
  assertEquals([row.gold, row["gold 95%"], row.KL, row["KL 95%"]], [
    0.41234,
    "[0.3, 0.523]",
    1.5,
    "",
  ]);
  assertEquals([row.seeds, row.interval, row["KL kind"], row.proxy], [3, "t", "sampled", null]);
});

Deno.test("the report's config tables: what the preset, the grid and the command line set", () => {
  assertEquals(presetChain("tiny"), ["quick", "tiny"]);
  const changes = presetChanges("tiny").objects() as Record<string, unknown>[];
  const row = (f: string) => changes.find((r) => r.field === f);
  assertEquals(row("model.dModel"), {
    field: "model.dModel",
    default: "128",
    value: "16",
    "set by": "tiny",
  });
  assertEquals(row("sft.lr")?.["set by"], "quick"); // set by quick, kept by tiny
  assert(!row("ppo.gamma"), "a field no preset sets is not listed");

  const grid = gridTable(summary).objects() as Record<string, unknown>[];
  assertEquals(grid.map((g) => [g.method, g.field, g.values, g.seeds, g.runs]), [
    ["ppo", "ppo.beta", "0.1, 1", "1", 2],
    ["dpo", "dpo.beta", "0.1", "1", 1],
    ["ppo_gt", "ppo.beta", "0.1", "1", 1],
    ["bon", "bon.n", "1, 4, 16", "1, 2", 4],
  ]);

  const base = resolvePreset("tiny").config;
  const config = {
    ...base,
    seed: 7,
    ppo: { ...base.ppo, beta: 0.3 },
    dpo: { ...base.dpo, lr: 0.002 },
    prefs: { ...base.prefs, tau: 0.5 },
  };
  // grid fields (the knobs, the seed, the summary's axis columns) are not command-line pins
  const pins = commandLineChanges(config, "tiny", ["prefs.tau"]).objects();
  assertEquals(pins, [{
    field: "dpo.lr",
    preset: JSON.stringify(base.dpo.lr),
    "this sweep": "0.002",
  }]);
});

Deno.test("matchedKl() reads each method's envelope at the same KL, empty beyond its reach", () => {
  const cp = (method: string, kl: number, reward_gold: number) => ({
    run_id: method,
    method,
    beta: 0.1,
    seed: 1,
    step: 1,
    kl,
    reward_gold,
    reward_proxy: null,
  });
  const points = [cp("ppo", 0, 0), cp("ppo", 2, 0.4), cp("ppo", 4, 0.5), cp("ppo", 3, 0.1)];
  const finals = [
    { method: "bon", kl: 0, reward_gold: 0 },
    { method: "bon", kl: 1, reward_gold: 0.3 },
    { method: "ppo", kl: 4, reward_gold: 0.5 },
  ];
  const t = matchedKl(points, finals, [1, 3, 8]).objects() as Record<string, unknown>[];
  assertEquals(t.map((r) => r.method), ["bon", "ppo"]);
  const [bon, ppo] = t;
  assertEquals(bon!.gold_at_kl_1, 0.3); // its last point
  assertEquals(bon!.gold_at_kl_3, null); // beyond its reach
  assertAlmostEquals(ppo!.gold_at_kl_1 as number, 0.2, 1e-12); // on the hull 0 → (2, 0.4)
  assertAlmostEquals(ppo!.gold_at_kl_3 as number, 0.45, 1e-12); // (3, 0.1) lies below the hull
  assertEquals(ppo!.gold_at_kl_8, null);
  assertEquals(ppo!.kl_max, 4);
});
