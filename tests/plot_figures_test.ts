import { assert, assertEquals, assertStringIncludes, assertThrows } from "./assert.ts";
import * as aq from "arquero";
import { frontierFigure } from "../lib/plot/frontier.ts";
import { overoptimisationFigure } from "../lib/plot/overoptimisation.ts";
import { curvesFigure } from "../lib/plot/curves.ts";
import { scatterFigure } from "../lib/plot/scatter.ts";
import { METHOD_STYLES } from "../lib/plot/style.ts";
import { stackTables } from "../lib/sweep/run_tables.ts";
import type { Figure, Trace } from "../lib/plot/figure.ts";
import { KitError } from "../lib/util/errors.ts";

/** A seed summary as summariseOverSeeds writes it (rows deliberately unsorted by KL). */
const summary = aq.table({
  method: ["ppo", "ppo", "ppo", "dpo", "dpo", "bon", "bon"],
  beta: [0.5, 0.05, 0.1, 0.1, 0.5, null, null],
  n: [null, null, null, null, null, 4, 16],
  n_runs: [3, 3, 3, 3, 3, 3, 3],
  kl_mean: [0.4, 3.0, 1.5, 2.0, 0.5, 1.6287, 2.8351],
  kl_ci_lo: [0.3, 2.5, 1.2, 1.8, 0.4, 1.6287, 2.8351],
  kl_ci_hi: [0.5, 3.5, 1.8, 2.2, 0.6, 1.6287, 2.8351],
  reward_gold_mean: [0.2, 0.6, 0.45, 0.5, 0.25, 0.4, 0.55],
  reward_gold_ci_lo: [0.1, 0.5, 0.4, 0.45, 0.2, 0.35, 0.5],
  reward_gold_ci_hi: [0.3, 0.7, 0.5, 0.55, 0.3, 0.45, 0.6],
  reward_proxy_mean: [0.3, 1.2, 0.8, null, null, 0.6, 0.9],
});

/** The sweep's richer contract: interval kind, level, seeds, prompts and KL kind per row. */
const withContract = summary.derive({
  ci_kind: (d: { method: string }) => (d.method === "bon" ? "bootstrap" : "t"),
  ci_level: () => 0.95,
  n_seeds: (d: { method: string }) => (d.method === "bon" ? 1 : 3),
  n_prompts: () => 512,
  kl_kind: (d: { method: string }) => (d.method === "bon" ? "analytic" : "sampled"),
});

/** Every figure must be plain JSON: no NaN/Infinity, functions, or holes in arrays. */
function assertPlainJson(fig: Figure): void {
  const walk = (v: unknown, path: string): void => {
    if (typeof v === "number") assert(Number.isFinite(v), `${path} is ${v}`);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) if (x !== undefined) walk(x, `${path}.${k}`);
    } else assert(v === null || ["string", "boolean"].includes(typeof v), `${path}: ${typeof v}`);
  };
  walk(fig, "fig");
  for (const t of fig.data) {
    assertEquals(t.type, "scatter");
    assertEquals(t.x.length, t.y.length);
  }
}

/** The trace drawing `method` (by its legend group). */
function traceOf(fig: Figure, method: string, axis = "y"): Trace {
  const t = fig.data.find((t) => t.legendgroup === method && (t.yaxis ?? "y") === axis);
  assert(t, `no trace for ${method} on ${axis}`);
  return t;
}

const round = (v: (number | null)[] | undefined) =>
  v?.map((x) => (x === null ? null : +x.toFixed(6)));

Deno.test("frontierFigure() draws one trace per method in its fixed style, sorted by KL", () => {
  const oracle = [{ kl: 3, reward: 0.8, beta: 0.05 }, { kl: 0.5, reward: 0.4, beta: 0.5 }];
  const fig = frontierFigure(withContract, { label: ["beta", "n"], oracle });
  assertPlainJson(fig);
  assertEquals(fig.data.map((t) => t.legendgroup), ["ppo", "dpo", "bon", "oracle"]);
  assertEquals(fig.data.map((t) => t.name), [
    "PPO",
    "DPO",
    "best-of-n<br>(KL analytic)",
    "π*<sub>β</sub> (exact optimum)",
  ]);
  const ppo = traceOf(fig, "ppo"), bon = traceOf(fig, "bon"), orc = traceOf(fig, "oracle");
  assertEquals(ppo.x, [0.4, 1.5, 3.0]);
  assertEquals(ppo.y, [0.2, 0.45, 0.6]);
  assertEquals([ppo.line?.color, ppo.marker?.color], [METHOD_STYLES.ppo!.color, "#0072B2"]);
  assertEquals(traceOf(fig, "dpo").line?.color, METHOD_STYLES.dpo!.color);
  // labels ride on the trace for the layout pass (placed without overlap), and on hover
  assertEquals(ppo.text, ["β=0.5", "β=0.1", "β=0.05"]);
  assertEquals(bon.text, ["n=4", "n=16"]);
  assertEquals([ppo.mode, ppo.meta?.placeLabels], ["lines+markers", true]);
  assertStringIncludes(ppo.hovertemplate!, "%{text}");
  // error bars: distance from the mean to each end of the interval
  assertEquals(round(ppo.error_y?.array), [0.1, 0.05, 0.1]);
  assertEquals(round(ppo.error_y?.arrayminus), [0.1, 0.05, 0.1]);
  assertEquals(round(ppo.error_x?.array), [0.1, 0.3, 0.5]);
  // analytic KL: open markers, and no horizontal bar although the columns hold one
  assertEquals(bon.marker?.symbol, ["star-open", "star-open"]);
  assertEquals(ppo.marker?.symbol, ["circle", "circle", "circle"]);
  assertEquals(bon.error_x, undefined);
  assertEquals(round(bon.error_y?.array), [0.05, 0.05]);
  // oracle: dashed black line, sorted by KL
  assertEquals([orc.mode, orc.line?.dash, orc.line?.color], ["lines", "dash", "#000000"]);
  assertEquals([orc.x, orc.y, orc.text], [[0.5, 3], [0.4, 0.8], ["β=0.5", "β=0.05"]]);
  assertEquals(fig.layout.xaxis?.title.text, "KL(π ‖ π<sub>ref</sub>) [nats]");
  assertEquals(fig.layout.yaxis?.title.text, "gold reward [a.u.]");
  assertEquals(
    frontierFigure(summary, { units: { gold: "VADER compound" } }).layout.yaxis?.title.text,
    "gold reward [VADER compound]",
  );
});

Deno.test("frontierFigure() keeps each method's colour and marker whatever else is plotted", () => {
  const styleOf = (t: aq.ColumnTable, m: string) => {
    const tr = traceOf(frontierFigure(t), m);
    return [tr.line?.color, tr.marker?.symbol?.[0], tr.line?.dash];
  };
  const ppoAlone = summary.filter((d: { method: string }) => d.method === "ppo");
  const dpoFirst = summary.orderby(aq.desc("method"));
  const unknown = summary.derive({
    method: (d: { method: string }) => (d.method === "dpo" ? "my_new_loss" : d.method),
  });
  const ppo = styleOf(summary, "ppo");
  assertEquals(styleOf(ppoAlone, "ppo"), ppo);
  assertEquals(styleOf(dpoFirst, "ppo"), ppo);
  assertEquals(styleOf(unknown, "ppo"), ppo);
  assertEquals(styleOf(dpoFirst, "dpo"), styleOf(summary, "dpo"));
  // an unknown method's style depends on its name only
  const alone = unknown.filter((d: { method: string }) => d.method === "my_new_loss");
  assertEquals(styleOf(alone, "my_new_loss"), styleOf(unknown, "my_new_loss"));
});

Deno.test("frontierFigure() captions the interval, its level and the seed and prompt counts", () => {
  const caption = frontierFigure(withContract).layout.meta?.caption ?? "";
  assertStringIncludes(caption, "Points: means over 1–3 seeds.");
  assertStringIncludes(caption, "95% t-intervals over 3 seeds (PPO, DPO)");
  assertStringIncludes(caption, "95% bootstrap intervals over 512 prompts of one seed (best-of-n)");
  assertStringIncludes(caption, "Open markers: analytic KL (best-of-n: log n − (n−1)/n)");
  assertStringIncludes(caption, "filled: KL estimated from samples on 512 prompts.");
  // a level other than 95% is stated as it is
  const ninety = withContract.derive({ ci_level: () => 0.9 });
  assertStringIncludes(frontierFigure(ninety).layout.meta?.caption ?? "", "90% t-intervals");
  // summariseOverSeeds' columns alone: read as its 95% t-intervals over n_runs seeds
  const legacy = frontierFigure(summary).layout.meta?.caption ?? "";
  assertStringIncludes(legacy, "Error bars: 95% t-intervals over 3 seeds (PPO, DPO, best-of-n).");
  assertStringIncludes(legacy, "KL estimated from samples.");
  // no interval columns at all
  const bare = aq.table({ method: ["a"], kl: [1], reward_gold: [0.5] });
  assertStringIncludes(
    frontierFigure(bare).layout.meta?.caption ?? "",
    "No error bars: the table has no intervals.",
  );
});

Deno.test("frontierFigure() draws no t-interval from 2 seeds unless asked, and says why", () => {
  const twoSeeds = withContract.derive({
    n_seeds: (d: { method: string }) => (d.method === "dpo" ? 2 : d.method === "bon" ? 1 : 3),
  });
  const fig = frontierFigure(twoSeeds);
  assertEquals(traceOf(fig, "dpo").error_y, undefined);
  assert(traceOf(fig, "ppo").error_y !== undefined, "3 seeds keep their bars");
  const caption = fig.layout.meta?.caption ?? "";
  assertStringIncludes(
    caption,
    "No bars for DPO (2 seeds: a 95% t-interval from 2 seeds is ±9 s).",
  );
  assertStringIncludes(caption, "95% t-intervals over 3 seeds (PPO)");
  const asked = frontierFigure(twoSeeds, { smallSampleIntervals: true });
  assertEquals(round(traceOf(asked, "dpo").error_y?.array), [0.05, 0.05]);
  assertStringIncludes(
    asked.layout.meta?.caption ?? "",
    "95% t-intervals over 2–3 seeds (PPO, DPO)",
  );
});

Deno.test("frontierFigure() rejects bad interval columns in one line naming the value", () => {
  const badKind = withContract.derive({ ci_kind: () => "sd" });
  assertThrows(
    () => frontierFigure(badKind),
    KitError,
    'column ci_kind row 0 is "sd"; allowed: t, bootstrap, none or empty',
  );
  const badKl = withContract.derive({ kl_kind: () => "guessed" });
  assertThrows(
    () => frontierFigure(badKl),
    KitError,
    'column kl_kind row 0 is "guessed"; allowed: analytic, sampled, exact or empty',
  );
  const badLevel = withContract.derive({ ci_level: () => 95 });
  assertThrows(
    () => frontierFigure(badLevel),
    KitError,
    "column ci_level row 0 is 95; allowed: 0 < level < 1",
  );
});

Deno.test("frontierFigure() on raw runs: no labels, no error bars, own axis titles", () => {
  const runs = aq.table({ method: ["a", "a"], kl: [2, 1], reward_gold: [1, 0.5] });
  const fig = frontierFigure(runs, { xTitle: "KL", yTitle: "R" });
  assertEquals(fig.data.length, 1);
  assertEquals(fig.data[0]!.mode, "lines+markers");
  assertEquals(fig.data[0]!.x, [1, 2]);
  assertEquals([fig.data[0]!.text, fig.data[0]!.error_y], [undefined, undefined]);
  assertEquals([fig.layout.xaxis?.title.text, fig.layout.yaxis?.title.text], ["KL", "R"]);
  assertThrows(
    () => frontierFigure(runs, { y: "reward" }),
    KitError,
    'the table has no y column "reward" (nor "reward_mean"); columns: method, kl, reward_gold',
  );
});

Deno.test("overoptimisationFigure() puts proxy and gold in two panels sharing the KL axis", () => {
  const fig = overoptimisationFigure(withContract);
  assertPlainJson(fig);
  // dpo has no proxy values, so it is drawn in the gold panel only
  assertEquals(fig.data.map((t) => `${t.legendgroup}@${t.yaxis}`), [
    "ppo@y",
    "ppo@y2",
    "dpo@y2",
    "bon@y",
    "bon@y2",
  ]);
  assertEquals(fig.data.map((t) => t.showlegend), [true, false, true, true, false]);
  const proxy = traceOf(fig, "ppo", "y"), gold = traceOf(fig, "ppo", "y2");
  assertEquals([proxy.y, gold.y], [[0.3, 0.8, 1.2], [0.2, 0.45, 0.6]]);
  assertEquals([proxy.line?.color, gold.line?.color], [METHOD_STYLES.ppo!.color, "#0072B2"]);
  assertEquals(traceOf(fig, "bon", "y2").marker?.symbol, ["star-open", "star-open"]);
  assertEquals(fig.layout.grid, { rows: 2, columns: 1, pattern: "independent" });
  assertEquals(fig.layout.yaxis?.title.text, "proxy reward [RM logit]");
  assertEquals((fig.layout.yaxis2 as { title: { text: string } }).title.text, "gold reward [a.u.]");
  assertEquals(
    (fig.layout.xaxis2 as { title: { text: string } }).title.text,
    "KL(π ‖ π<sub>ref</sub>) [nats]",
  );
  assertStringIncludes(fig.layout.meta?.caption ?? "", "Top: proxy (reward-model) reward");
});

/** A PPO run's metrics and a DPO run's: different metric columns. */
const ppoRun = aq.table({
  step: [0, 1, 2],
  "reward/gold": [0.1, null, 0.3],
  "kl/ref": [0, 0.1, 0.2],
  "loss/policy": [1, 0.8, 0.7],
}).derive({ run_id: () => "ppo-1", method: () => "ppo" });
const dpoRun = aq.table({
  step: [0, 1, 2],
  "kl/ref": [0, 0.2, 0.3],
  "loss/dpo": [0.69, 0.6, 0.5],
  "rewards/margin": [0, 0.1, 0.3],
}).derive({ run_id: () => "dpo-1", method: () => "dpo" });

Deno.test("curvesFigure() keeps a DPO run's metrics when a PPO run's come first", () => {
  const ys = ["reward/gold", "kl/ref", "loss/policy", "loss/dpo", "rewards/margin"];
  const fig = curvesFigure([ppoRun, dpoRun], { ys, run: "run_id" });
  assertPlainJson(fig);
  assertEquals(fig.layout.grid, { rows: 3, columns: 2, pattern: "independent" });
  // a run that never logs a metric has no trace in its subplot
  assertEquals(fig.data.map((t) => `${t.legendgroup}@${t.yaxis}`), [
    "ppo@y",
    "ppo@y2",
    "dpo@y2",
    "ppo@y3",
    "dpo@y4",
    "dpo@y5",
  ]);
  assertEquals([fig.data[4]!.x, fig.data[4]!.y], [[0, 1, 2], [0.69, 0.6, 0.5]]);
  // sparse metric: only logged steps are drawn
  assertEquals([fig.data[0]!.x, fig.data[0]!.y], [[0, 2], [0.1, 0.3]]);
  // one legend entry per method, in the method's colour in every subplot
  assertEquals(fig.data.map((t) => t.showlegend), [true, false, true, false, false, false]);
  assertEquals(fig.data.map((t) => t.name), ["PPO", "PPO", "DPO", "PPO", "DPO", "DPO"]);
  assertEquals(
    [fig.data[0]!.line?.color, fig.data[4]!.line?.color],
    [METHOD_STYLES.ppo!.color, METHOD_STYLES.dpo!.color],
  );
  // metric names with units title the subplots; only each column's last subplot names x
  const titles = (fig.layout.annotations as { text: string }[]).map((a) => a.text);
  assertEquals(titles, [
    "gold reward [a.u.]",
    "KL(π ‖ π<sub>ref</sub>) [nats]",
    "policy loss [a.u.]",
    "DPO-family loss [nats]",
    "implicit reward margin [a.u.]",
  ]);
  const xTitle = (k: string) => (fig.layout[`xaxis${k}`] as { title: { text: string } }).title.text;
  assertEquals(["", "2", "3", "4", "5"].map(xTitle), [
    "",
    "",
    "",
    "training step",
    "training step",
  ]);
  assertStringIncludes(fig.layout.meta?.caption ?? "", "One line per run (2 runs)");
});

Deno.test("curvesFigure() without a method column colours runs by their names", () => {
  const metrics = aq.table({
    run: ["r1", "r1", "r2", "r2"],
    step: [0, 1, 0, 1],
    "kl/ref": [0, 0.1, 0, 0.2],
  });
  const fig = curvesFigure(metrics, { ys: ["kl/ref"], run: "run" });
  assertEquals(fig.data.map((t) => t.name), ["r1", "r2"]);
  assert(fig.data[0]!.line?.color !== fig.data[1]!.line?.color, "runs differ in colour");
  // a run's colour does not depend on the other runs present
  const alone = curvesFigure(metrics.filter((d: { run: string }) => d.run === "r2"), {
    ys: ["kl/ref"],
    run: "run",
  });
  assertEquals(alone.data[0]!.line?.color, fig.data[1]!.line?.color);
  const one = curvesFigure(metrics, { ys: ["kl/ref"] });
  assertEquals([one.data.length, one.layout.grid?.columns], [1, 1]);
  assertThrows(() => curvesFigure(metrics, { ys: ["beta"] }), KitError, 'no metric column "beta"');
});

Deno.test("scatterFigure() plots paired values and an optional diagonal", () => {
  const fig = scatterFigure([0, 1, NaN], [0.5, 2, 1], {
    title: "RM vs gold",
    xTitle: "gold reward",
    yTitle: "RM score",
    text: ["a", "b", "c"],
    diagonal: true,
  });
  assertPlainJson(fig);
  assertEquals(fig.data.length, 2);
  assertEquals(fig.data[0]!.x, [0, 1, null]);
  assertEquals(fig.data[1]!.line?.dash, "dash");
  assertEquals([fig.data[1]!.x, fig.data[1]!.y], [[0, 2], [0, 2]]);
  assertEquals(fig.layout.title?.text, "RM vs gold");
  assertEquals([fig.layout.xaxis?.title.text, fig.layout.yaxis?.title.text], [
    "gold reward",
    "RM score",
  ]);
  assertThrows(
    () => scatterFigure([1], [1, 2], { title: "", xTitle: "", yTitle: "" }),
    KitError,
    "scatterFigure: x has 1 values, y 2; they must be equal",
  );
});

/** Two sweeps of one grid stacked with a `sweep` column, the second's PPO gold higher. */
const twoSweeps = aq.table({
  method: ["ppo", "ppo", "dpo", "ppo", "ppo", "dpo"],
  beta: [0.1, 0.5, 0.1, 0.1, 0.5, 0.1],
  sweep: ["a", "a", "a", "b", "b", "b"],
  kl: [1.5, 0.4, 2.0, 1.6, 0.5, 2.1],
  reward_gold: [0.45, 0.2, 0.5, 0.55, 0.3, 0.5],
  reward_proxy: [0.8, 0.3, null, 0.9, 0.4, null],
});

Deno.test("frontierFigure() with series: colour by method, dash by series, legends name both", () => {
  const fig = frontierFigure(twoSweeps, { series: "sweep", label: "beta" });
  assertPlainJson(fig);
  assertEquals(fig.data.map((t) => t.name), ["PPO · a", "PPO · b", "DPO · a", "DPO · b"]);
  assertEquals(fig.data.map((t) => t.line?.dash), ["solid", "dash", "solid", "dash"]);
  assertEquals(
    fig.data.map((t) => t.line?.color),
    [0, 0, 1, 1].map((k) => METHOD_STYLES[k ? "dpo" : "ppo"]!.color),
  );
  assertEquals(fig.data.map((t) => t.meta?.series), ["a", "b", "a", "b"]);
  // each series keeps its own points, sorted by KL
  assertEquals([fig.data[1]!.x, fig.data[1]!.y], [[0.5, 1.6], [0.3, 0.55]]);
  // legend groups are per method and series, so each toggles on its own
  assertEquals(new Set(fig.data.map((t) => t.legendgroup)).size, 4);
  // without series, one trace per method as before
  assertEquals(frontierFigure(twoSweeps).data.map((t) => t.name), ["PPO", "DPO"]);
});

Deno.test("overoptimisationFigure() and curvesFigure() dash by series too", () => {
  const fig = overoptimisationFigure(twoSweeps, { series: "sweep" });
  assertPlainJson(fig);
  assertEquals(fig.data.map((t) => `${t.name}@${t.yaxis}:${t.line?.dash}`), [
    "PPO · a@y:solid",
    "PPO · a@y2:solid",
    "PPO · b@y:dash",
    "PPO · b@y2:dash",
    "DPO · a@y2:solid",
    "DPO · b@y2:dash",
  ]);
  const metrics = stackTables([
    ppoRun.derive({ sweep: () => "a" }),
    ppoRun.derive({ run_id: () => "ppo-2", sweep: () => "b" }),
    dpoRun.derive({ sweep: () => "b" }),
  ]);
  const curves = curvesFigure(metrics, { ys: ["kl/ref"], run: "run_id", series: "sweep" });
  assertPlainJson(curves);
  assertEquals(curves.data.map((t) => `${t.name}:${t.line?.dash}:${t.showlegend}`), [
    "PPO · a:solid:true",
    "PPO · b:dash:true",
    "DPO · b:dash:true",
  ]);
  assertEquals(curves.data[0]!.line?.color, curves.data[1]!.line?.color);
  assertStringIncludes(curves.layout.meta?.caption ?? "", "coloured by method, dashed by sweep");
});

Deno.test("frontierFigure() draws checkpoints and envelopes in the method's colour, captioned", () => {
  const checkpoints = [
    { method: "ppo", kl: 0.2, reward: 0.1, text: "β=0.1, step 10" },
    { method: "ppo", kl: 0.9, reward: 0.5, text: "β=0.1, step 20" },
    { method: "dpo", kl: 1.0, reward: 0.3 },
  ];
  const envelope = [
    { method: "ppo", kl: 0.2, reward: 0.1 },
    { method: "ppo", kl: 0.9, reward: 0.5 },
    { method: "dpo", kl: 1.0, reward: 0.3 },
  ];
  const fig = frontierFigure(withContract, { checkpoints, envelope });
  assertPlainJson(fig);
  const byRole = (role: string) => fig.data.filter((t) => t.meta?.role === role);
  const bands = byRole("envelope"), dots = byRole("checkpoints");
  assertEquals(bands.map((t) => [t.meta?.method, t.x, t.y]), [
    ["ppo", [0.2, 0.9], [0.1, 0.5]],
    ["dpo", [1.0], [0.3]],
  ]);
  assertEquals(bands.map((t) => t.line?.color), [
    METHOD_STYLES.ppo!.color,
    METHOD_STYLES.dpo!.color,
  ]);
  // a one-point envelope is drawn as a disc, a line through one point would not show
  assertEquals(bands.map((t) => [t.mode, t.marker?.size]), [["lines", undefined], ["markers", 14]]);
  assertEquals(dots.map((t) => t.text), [["β=0.1, step 10", "β=0.1, step 20"], [""]]);
  // overlays are drawn under the points, have no legend entries and toggle with the method
  assertEquals(fig.data.slice(0, 4).map((t) => t.meta?.role), [
    "envelope",
    "envelope",
    "checkpoints",
    "checkpoints",
  ]);
  assert([...bands, ...dots].every((t) => t.showlegend === false));
  assertEquals(bands.map((t) => t.legendgroup), ["ppo", "dpo"]);
  const caption = fig.layout.meta?.caption ?? "";
  assertStringIncludes(caption, "Pale bands: each method's checkpoint envelope, the upper hull");
  assertStringIncludes(caption, "small dots: checkpoints (PPO 2, DPO 1)");
  // the method's own traces are unchanged
  assertEquals(traceOf(frontierFigure(withContract), "ppo").x, [0.4, 1.5, 3.0]);
  assertEquals(fig.data.filter((t) => !t.meta?.role).length, 3);
});

Deno.test("overoptimisationFigure() draws fitted curves and checkpoints on the gold panel", () => {
  const fits = [
    { method: "ppo", form: "rl", kl: [0, 1, 4], reward: [0, 0.3, 0.4], text: "α=0.3" },
    { method: "bon", form: "bon", kl: [0, 2], reward: [0, 0.5] },
  ];
  const checkpoints = [{ method: "ppo", kl: 1, reward: 0.3 }];
  const fig = overoptimisationFigure(withContract, { fits, checkpoints });
  assertPlainJson(fig);
  const fitted = fig.data.filter((t) => t.meta?.role === "fit");
  assertEquals(fitted.map((t) => [t.meta?.method, t.x, t.y, t.xaxis, t.yaxis]), [
    ["ppo", [0, 1, 4], [0, 0.3, 0.4], "x2", "y2"],
    ["bon", [0, 2], [0, 0.5], "x2", "y2"],
  ]);
  assertEquals(fitted.map((t) => t.line?.dash), ["dashdot", "dashdot"]);
  assertEquals(fitted.map((t) => t.line?.color), [
    METHOD_STYLES.ppo!.color,
    METHOD_STYLES.bon!.color,
  ]);
  assert(fitted.every((t) => t.showlegend === false));
  const dots = fig.data.find((t) => t.meta?.role === "checkpoints");
  assertEquals([dots?.xaxis, dots?.yaxis, dots?.x], ["x2", "y2", [1]]);
  const caption = fig.layout.meta?.caption ?? "";
  assertStringIncludes(caption, "Dash-dot: Gao et al. (2023) fits of the gold gained over SFT");
  assertStringIncludes(caption, "d(α − β log d) over checkpoints; d(α − βd) over best-of-n's n");
  assertStringIncludes(caption, "Small dots: checkpoints (PPO 1).");
  // the legend still has one entry per method
  assertEquals(fig.data.filter((t) => t.showlegend).map((t) => t.legendgroup), [
    "ppo",
    "dpo",
    "bon",
  ]);
});
