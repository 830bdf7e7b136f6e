import { assert, assertEquals, assertThrows } from "./assert.ts";
import * as aq from "arquero";
import { frontierFigure, overoptimisationFigure } from "../lib/plot/frontier.ts";
import { curvesFigure } from "../lib/plot/curves.ts";
import { scatterFigure } from "../lib/plot/scatter.ts";
import type { Figure } from "../lib/plot/figure.ts";
import { KitError } from "../lib/util/errors.ts";

/** A seed summary as summariseOverSeeds writes it (rows deliberately unsorted by KL). */
const summary = aq.table({
  method: ["ppo", "ppo", "ppo", "dpo", "dpo", "bon", "bon"],
  beta: [0.5, 0.05, 0.1, 0.1, 0.5, null, null],
  n: [null, null, null, null, null, 4, 16],
  kl_mean: [0.4, 3.0, 1.5, 2.0, 0.5, 1.6287, 2.8351],
  kl_ci_lo: [0.3, 2.5, 1.2, 1.8, 0.4, 1.6287, 2.8351],
  kl_ci_hi: [0.5, 3.5, 1.8, 2.2, 0.6, 1.6287, 2.8351],
  reward_gold_mean: [0.2, 0.6, 0.45, 0.5, 0.25, 0.4, 0.55],
  reward_gold_ci_lo: [0.1, 0.5, 0.4, 0.45, 0.2, 0.35, 0.5],
  reward_gold_ci_hi: [0.3, 0.7, 0.5, 0.55, 0.3, 0.45, 0.6],
  reward_proxy_mean: [0.3, 1.2, 0.8, null, null, 0.6, 0.9],
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

Deno.test("frontierFigure() draws one trace per method, sorted by KL, labelled, with CIs", () => {
  const oracle = [{ kl: 3, reward: 0.8, beta: 0.05 }, { kl: 0.5, reward: 0.4, beta: 0.5 }];
  const fig = frontierFigure(summary, { label: ["beta", "n"], oracle });
  assertPlainJson(fig);
  assertEquals(fig.data.map((t) => t.name), ["ppo", "dpo", "bon", "oracle π*_β"]);
  const [ppo, dpo, bon, orc] = fig.data as [
    Figure["data"][0],
    Figure["data"][0],
    Figure["data"][0],
    Figure["data"][0],
  ];
  assertEquals(ppo.x, [0.4, 1.5, 3.0]);
  assertEquals(ppo.y, [0.2, 0.45, 0.6]);
  assertEquals(ppo.text, ["β=0.5", "β=0.1", "β=0.05"]);
  assertEquals(ppo.mode, "lines+markers+text");
  assertEquals(bon.text, ["n=4", "n=16"]);
  assertEquals(dpo.line?.color !== ppo.line?.color, true);
  // error bars: distance from the mean to each end of the interval
  assertEquals(ppo.error_y?.array.map((v) => Number(v!.toFixed(6))), [0.1, 0.05, 0.1]);
  assertEquals(ppo.error_y?.arrayminus.map((v) => Number(v!.toFixed(6))), [0.1, 0.05, 0.1]);
  assertEquals(ppo.error_x?.array.map((v) => Number(v!.toFixed(6))), [0.1, 0.3, 0.5]);
  // oracle: dashed line, sorted by KL
  assertEquals([orc.mode, orc.line?.dash, orc.x, orc.y], ["lines", "dash", [0.5, 3], [0.4, 0.8]]);
  assertEquals(orc.text, ["β=0.5", "β=0.05"]);
  assertEquals(fig.layout.xaxis?.title.text, "KL(π ‖ π_ref) [nats]");
  assertEquals(fig.layout.yaxis?.title.text, "gold reward");
  assertEquals(typeof fig.layout.title?.text, "string");
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

Deno.test("overoptimisationFigure() draws gold solid and proxy dashed per method", () => {
  const fig = overoptimisationFigure(summary);
  assertPlainJson(fig);
  // dpo has no proxy values, so it gets only its gold trace
  assertEquals(fig.data.map((t) => t.name), [
    "ppo gold",
    "ppo proxy",
    "dpo gold",
    "bon gold",
    "bon proxy",
  ]);
  const [gold, proxy] = fig.data as [Figure["data"][0], Figure["data"][0]];
  assertEquals([gold.line?.dash, proxy.line?.dash], ["solid", "dash"]);
  assertEquals(gold.line?.color, proxy.line?.color);
  assertEquals(proxy.y, [0.3, 0.8, 1.2]);
  assertEquals(fig.layout.xaxis?.title.text, "KL(π ‖ π_ref) [nats]");
  assertEquals(fig.layout.yaxis?.title.text, "reward");
});

Deno.test("curvesFigure() makes one subplot per metric and one colour per run", () => {
  const metrics = aq.table({
    run: ["r1", "r1", "r1", "r2", "r2", "r2"],
    step: [0, 1, 2, 0, 1, 2],
    "reward/gold": [0.1, null, 0.3, 0.2, null, 0.4],
    "kl/ref": [0, 0.1, 0.2, 0, 0.2, 0.3],
    "loss/policy": [1, 0.8, 0.7, 1.1, 0.9, 0.6],
  });
  const fig = curvesFigure(metrics, { ys: ["reward/gold", "kl/ref", "loss/policy"], run: "run" });
  assertPlainJson(fig);
  assertEquals(fig.data.length, 6);
  assertEquals(fig.layout.grid, { rows: 2, columns: 2, pattern: "independent" });
  assertEquals(fig.data.map((t) => `${t.name}@${t.xaxis}/${t.yaxis}`), [
    "r1@x/y",
    "r2@x/y",
    "r1@x2/y2",
    "r2@x2/y2",
    "r1@x3/y3",
    "r2@x3/y3",
  ]);
  // sparse metric: only logged steps are drawn
  assertEquals([fig.data[0]!.x, fig.data[0]!.y], [[0, 2], [0.1, 0.3]]);
  assertEquals(fig.data.map((t) => t.showlegend), [true, true, false, false, false, false]);
  assertEquals(fig.data[0]!.line?.color, fig.data[2]!.line?.color);
  assertEquals((fig.layout.yaxis2 as { title: { text: string } }).title.text, "kl/ref");
  assertEquals((fig.layout.xaxis3 as { title: { text: string } }).title.text, "step");
  assertEquals(fig.layout.yaxis?.title.text, "reward/gold");
  // a single run, single metric
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
