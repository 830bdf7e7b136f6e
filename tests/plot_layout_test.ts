import { assert, assertEquals } from "./assert.ts";
import * as aq from "arquero";
import { type Box, CHAR_WIDTH, placeLabels, segmentBoxes } from "../lib/plot/_labels.ts";
import { FIGURE_SIZES, sizeFigure, wrapText } from "../lib/plot/size_figure.ts";
import { frontierFigure } from "../lib/plot/frontier.ts";
import type { Figure } from "../lib/plot/figure.ts";

const overlaps = (a: Box, b: Box) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
const inside = (a: Box, area: Box) =>
  a.x0 >= area.x0 && a.x1 <= area.x1 && a.y0 >= area.y0 && a.y1 <= area.y1;

Deno.test("placeLabels() keeps labels apart, off markers, inside the area, and drops misfits", () => {
  const area = { x0: 0, y0: 0, x1: 200, y1: 100 };
  const pts = [[50, 50], [56, 50], [62, 52], [195, 5]] as const;
  const markers = pts.map(([x, y]) => ({ x0: x - 4, y0: y - 4, x1: x + 4, y1: y + 4 }));
  const requests = pts.map(([px, py], i) => ({ px, py, text: `β=0.${i}`, radius: 4 }));
  requests[3]!.text = "a label longer than the plot area is wide";
  const font = 10, h = font * 1.2;
  const placed = placeLabels(requests, markers, [], area, font);
  const boxes = placed.map((p) => {
    const r = requests[p.index]!;
    const w = r.text.length * font * CHAR_WIDTH + 2;
    const x = r.px + p.xshift, y = r.py - p.yshift;
    const x0 = p.xanchor === "left" ? x : p.xanchor === "right" ? x - w : x - w / 2;
    const y0 = p.yanchor === "top" ? y : p.yanchor === "bottom" ? y - h : y - h / 2;
    return { x0, y0, x1: x0 + w, y1: y0 + h };
  });
  // right of the first point is its neighbour's marker: it takes the next position, left
  assertEquals([placed[0]!.xanchor, placed[0]!.yanchor, placed[0]!.xshift], [
    "right",
    "middle",
    -6,
  ]);
  boxes.forEach((b, i) => {
    assert(inside(b, area), `label ${i} leaves the area`);
    markers.forEach((m, j) => assert(!overlaps(b, m), `label ${i} covers marker ${j}`));
    boxes.forEach((c, j) => assert(i === j || !overlaps(b, c), `labels ${i} and ${j} overlap`));
  });
  // a label wider than the area fits nowhere: it stays on hover only
  assertEquals(placed.some((p) => p.index === 3), false);
  assertEquals(placed.length, 3);
});

Deno.test("placeLabels() prefers the position that crosses the fewest line pixels", () => {
  const area = { x0: 0, y0: 0, x1: 200, y1: 200 };
  // a line running right of the point and another left of it: above is clear
  const soft = [{ x0: 105, y0: 95, x1: 160, y1: 105 }, { x0: 40, y0: 95, x1: 95, y1: 105 }];
  const [p] = placeLabels([{ px: 100, py: 100, text: "n=4", radius: 3 }], [], soft, area, 10);
  assertEquals([p!.xanchor, p!.yanchor], ["center", "bottom"]);
});

Deno.test("wrapText() breaks at spaces within the width", () => {
  assertEquals(wrapText("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
  assertEquals(wrapText("", 6), []);
});

const table = aq.table({
  method: ["ppo", "ppo", "ppo", "dpo", "dpo", "dpo"],
  beta: [0.5, 0.1, 0.05, 0.5, 0.1, 0.05],
  kl: [0.3, 1.2, 2.5, 0.4, 1.3, 2.6],
  reward_gold: [0.2, 0.45, 0.55, 0.22, 0.47, 0.56],
});
const fig = frontierFigure(table, { label: "beta", title: "a frontier", note: "A note." });

Deno.test("sizeFigure() gives each preset its CSS size; the caption grows all but slides", () => {
  const before = structuredClone(fig);
  const paper = sizeFigure(fig, "paper", { caption: false });
  assertEquals([paper.layout.width, paper.layout.height], [350, 250]);
  assertEquals(paper.layout.title, undefined); // a paper figure's title is its caption's job
  const slide = sizeFigure(fig, "slide");
  assertEquals([slide.layout.width, slide.layout.height], [640, 360]);
  assertEquals(slide.layout.title?.text, "a frontier");
  const withCaption = sizeFigure(fig, "paper");
  assert(withCaption.layout.height! > 250, "the caption adds lines below a paper figure");
  const screen = sizeFigure(fig, "screen");
  assertEquals(screen.layout.width, FIGURE_SIZES.screen.width);
  // the caption is drawn, wrapped, below the plot
  const caption = (screen.layout.annotations as { text: string; yref: string; y: number }[])
    .find((a) => a.yref === "paper")!;
  assertEquals(caption.text.split("<br>").join(" "), fig.layout.meta!.caption!);
  assert(caption.y < 0, "below the plot area");
  assertEquals(fig, before); // the input is not changed
});

/** Label boxes of a sized frontier, in px, from its annotations and axis ranges. */
function labelBoxes(f: Figure): { boxes: Box[]; area: Box } {
  const L = f.layout;
  const m = L.margin as { l: number; r: number; t: number; b: number };
  const area = { x0: m.l, y0: m.t, x1: L.width! - m.r, y1: L.height! - m.b };
  const [x0, x1] = L.xaxis!.range!, [y0, y1] = L.yaxis!.range!;
  const font = (L.font as { size: number }).size - 1, h = font * 1.2;
  const boxes = (L.annotations as Record<string, unknown>[])
    .filter((a) => a.xref === "x")
    .map((a) => {
      const px = area.x0 + ((a.x as number) - x0) / (x1 - x0) * (area.x1 - area.x0);
      const py = area.y0 + (1 - ((a.y as number) - y0) / (y1 - y0)) * (area.y1 - area.y0);
      const w = String(a.text).length * font * CHAR_WIDTH + 2;
      const x = px + (a.xshift as number), y = py - (a.yshift as number);
      const bx = a.xanchor === "left" ? x : a.xanchor === "right" ? x - w : x - w / 2;
      const by = a.yanchor === "top" ? y : a.yanchor === "bottom" ? y - h : y - h / 2;
      return { x0: bx, y0: by, x1: bx + w, y1: by + h };
    });
  return { boxes, area };
}

Deno.test("sizeFigure() places frontier labels without overlaps at every size", () => {
  for (const size of ["paper", "slide", "screen"] as const) {
    const { boxes, area } = labelBoxes(sizeFigure(fig, size));
    assert(boxes.length >= 3, `${size}: only ${boxes.length} labels placed`);
    boxes.forEach((b, i) => {
      assert(inside(b, area), `${size}: label ${i} leaves the plot`);
      boxes.forEach((c, j) => assert(i === j || !overlaps(b, c), `${size}: ${i} and ${j} overlap`));
    });
  }
  // a larger figure has room for at least as many labels
  const count = (size: "paper" | "screen") => labelBoxes(sizeFigure(fig, size)).boxes.length;
  assert(count("screen") >= count("paper"), "fewer labels on a larger figure");
});

Deno.test("frontierFigure() cuts a KL bar that would squeeze the frame, and names it in the caption", () => {
  // Three seeds of DPO at β 0.05 at KL 12, 12, 58: a t-interval of [−38, 92] around 27.
  const t = aq.table({
    method: ["ppo", "ppo", "dpo", "dpo"],
    beta: [0.05, 0.3, 0.05, 0.3],
    kl_mean: [22, 6.5, 27, 3.5],
    kl_ci_lo: [18, 5, -38.46, 2.9],
    kl_ci_hi: [27, 8, 92.54, 4.1],
    reward_gold_mean: [0.78, 0.41, 0.45, 0.28],
    reward_gold_ci_lo: [0.7, 0.39, 0.35, 0.23],
    reward_gold_ci_hi: [0.86, 0.43, 0.54, 0.34],
    ci_kind: ["t", "t", "t", "t"],
    n_seeds: [3, 3, 3, 3],
  });
  const cut = frontierFigure(t, { label: "beta" });
  const range = cut.layout.xaxis!.range!;
  assert(range[0] < 0 && range[0] > -3, `frame starts just left of 0, not at ${range[0]}`);
  assert(range[1] >= 27 && range[1] < 40, `frame ends past the points only: ${range[1]}`);
  const caption = String(cut.layout.meta?.caption);
  assert(caption.includes("DPO β=0.05: KL interval [-38, 93]"), caption);
  assert(!caption.includes("PPO β=0.05: KL"), "a bar inside the frame is not listed");
  // The sized figure keeps that frame (labels are placed in it).
  assertEquals(sizeFigure(cut, "paper").layout.xaxis!.range, range);

  // Without the wide bar, nothing is cut and the layout pass frames every bar.
  const whole = frontierFigure(t.filter((d: { kl_mean: number }) => d.kl_mean !== 27), {
    label: "beta",
  });
  assertEquals(whole.layout.xaxis!.range, undefined);
  assert(!String(whole.layout.meta?.caption).includes("cut"));
});

Deno.test("frontierFigure() frames KL estimates that sit just below 0, and sizes without blowing up", () => {
  // A tiny sweep: sampled KL of −0.0022 with bars ten times as wide. The frame must hold
  // every point (an earlier frame of width 1e-10 sent label placement into millions of boxes).
  const t = aq.table({
    method: ["ppo", "ppo", "ppo"],
    beta: [0.2, 0.3, 0.4],
    kl_mean: [-0.0022, -0.00221, -0.0022],
    kl_ci_lo: [-0.03, -0.03, -0.03],
    kl_ci_hi: [0.2, 0.03, 0.03],
    reward_gold_mean: [0.11, 0.12, 0.11],
    reward_gold_ci_lo: [0.1, 0.1, 0.1],
    reward_gold_ci_hi: [0.13, 0.13, 0.13],
    ci_kind: ["t", "t", "t"],
    n_seeds: [3, 3, 3],
  });
  const fig = frontierFigure(t, { label: "beta" });
  const range = fig.layout.xaxis!.range;
  if (range) {
    assert(range[0] <= -0.00221 && range[1] >= 0, `the frame [${range}] leaves out a point`);
    assert(range[1] - range[0] > 1e-4, `a degenerate frame: ${range}`);
  }
  for (const size of ["paper", "screen"] as const) sizeFigure(fig, size); // would throw before
});

Deno.test("segmentBoxes() with a clip box covers only the part inside it", () => {
  const area = { x0: 0, y0: 0, x1: 100, y1: 100 };
  const boxes = segmentBoxes(-1e9, 50, 1e9, 50, 2, 4, area);
  assert(boxes.length > 20 && boxes.length < 40, `${boxes.length} boxes`);
  assert(boxes.every((b) => b.x0 >= -5 && b.x1 <= 105), "a box outside the area");
  assertEquals(segmentBoxes(200, 200, 300, 300, 2, 4, area), []);
  assertEquals(segmentBoxes(0, 0, 40, 0, 1).length, 11, "no clip: every 4 px");
});
