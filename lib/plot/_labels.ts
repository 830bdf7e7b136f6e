/**
 * Point labels that do not overlap: a greedy pass over candidate positions around each
 * point, in pixels of one output size. Not re-exported.
 *
 * Each label tries eight positions around its point (right, left, above, below, then the
 * diagonals). A position is allowed when its box lies inside the plot area and overlaps
 * no marker and no label placed before it; among allowed positions the one crossing the
 * fewest line and error-bar pixels wins (ties: the earlier position). A label with no
 * allowed position is left out; it stays on hover. Pixel offsets are fixed, so labels that
 * fit at one size also fit at any larger size with the same fonts.
 *
 * {@link placeTraceLabels} applies this to a figure's traces marked `meta.placeLabels`.
 *
 * @module
 */
import type { Figure, Trace } from "./figure.ts";
import { escapeRich, plainText } from "./style.ts";

/** An axis-aligned box in pixels (y grows downwards, as on screen). */
export interface Box {
  /** Left edge. */
  x0: number;
  /** Top edge. */
  y0: number;
  /** Right edge. */
  x1: number;
  /** Bottom edge. */
  y1: number;
}

/** A label to place at a point (pixel coordinates). */
export interface LabelRequest {
  /** Point x in px. */
  px: number;
  /** Point y in px. */
  py: number;
  /** Plain text of the label (for its width). */
  text: string;
  /** Marker radius in px (labels keep clear of it). */
  radius: number;
}

/** Where a label went: its box and the plotly anchor/shift that put it there. */
export interface Placement {
  /** Index into the requests. */
  index: number;
  /** Horizontal anchor of the text at the shifted point. */
  xanchor: "left" | "center" | "right";
  /** Vertical anchor. */
  yanchor: "top" | "middle" | "bottom";
  /** Shift right in px. */
  xshift: number;
  /** Shift up in px (plotly's sense). */
  yshift: number;
}

/** Average glyph width as a fraction of the font size (DejaVu Sans is ~0.55–0.6). */
export const CHAR_WIDTH = 0.6;

function overlaps(a: Box, b: Box): boolean {
  return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

/** Candidate positions: [dx sign, dy sign] (screen y down), in preference order. */
const CANDIDATES: readonly [number, number][] = [
  [1, 0],
  [-1, 0],
  [0, -1],
  [0, 1],
  [1, -1],
  [-1, -1],
  [1, 1],
  [-1, 1],
];

/**
 * Place labels greedily (see the module doc).
 * @param requests labels in priority order.
 * @param markers boxes of every drawn marker (labels never cover one).
 * @param soft boxes of line and error-bar pixels (covered as little as possible).
 * @param area the plot area; labels stay inside it.
 * @param fontSize label font size in px.
 * @returns one placement per label that fits.
 */
export function placeLabels(
  requests: readonly LabelRequest[],
  markers: readonly Box[],
  soft: readonly Box[],
  area: Box,
  fontSize: number,
): Placement[] {
  const placed: Box[] = [];
  const out: Placement[] = [];
  const h = fontSize * 1.2;
  requests.forEach((r, index) => {
    if (!r.text) return;
    const w = r.text.length * fontSize * CHAR_WIDTH + 2;
    const gap = r.radius + 2;
    let best: { box: Box; p: Placement; cost: number } | undefined;
    for (const [sx, sy] of CANDIDATES) {
      const cx = r.px + sx * gap, cy = r.py + sy * gap;
      const x0 = sx > 0 ? cx : sx < 0 ? cx - w : cx - w / 2;
      const y0 = sy > 0 ? cy : sy < 0 ? cy - h : cy - h / 2;
      const box = { x0, y0, x1: x0 + w, y1: y0 + h };
      if (box.x0 < area.x0 || box.x1 > area.x1 || box.y0 < area.y0 || box.y1 > area.y1) continue;
      if (markers.some((m) => overlaps(box, m)) || placed.some((p) => overlaps(box, p))) continue;
      const cost = soft.reduce((n, s) => n + (overlaps(box, s) ? 1 : 0), 0);
      if (best && cost >= best.cost) continue;
      best = {
        box,
        cost,
        p: {
          index,
          xanchor: sx > 0 ? "left" : sx < 0 ? "right" : "center",
          yanchor: sy > 0 ? "top" : sy < 0 ? "bottom" : "middle",
          xshift: sx * gap,
          yshift: -sy * gap,
        },
      };
      if (cost === 0) break;
    }
    if (best) {
      placed.push(best.box);
      out.push(best.p);
    }
  });
  return out;
}

/** Small boxes every `step` px along the segment (a, b), for {@link placeLabels}' `soft`. */
export function segmentBoxes(
  ax: number,
  ay: number,
  bx: number,
  by: number,
  half: number,
  step = 4,
  clip?: Box,
): Box[] {
  if (clip) {
    // Only what lies in the plot area can collide with a label; a bar cut at the frame may
    // run far outside it, and boxes along all of it would be millions.
    const inside = clipSegment(ax, ay, bx, by, {
      x0: clip.x0 - half,
      y0: clip.y0 - half,
      x1: clip.x1 + half,
      y1: clip.y1 + half,
    });
    if (!inside) return [];
    [ax, ay, bx, by] = inside;
  }
  const len = Math.hypot(bx - ax, by - ay);
  const n = Math.max(1, Math.ceil(len / step));
  const out: Box[] = [];
  for (let k = 0; k <= n; k++) {
    const x = ax + ((bx - ax) * k) / n, y = ay + ((by - ay) * k) / n;
    out.push({ x0: x - half, y0: y - half, x1: x + half, y1: y + half });
  }
  return out;
}

/** The part of segment a→b inside `box` (Liang–Barsky), or undefined when none is. */
function clipSegment(
  ax: number,
  ay: number,
  bx: number,
  by: number,
  box: Box,
): [number, number, number, number] | undefined {
  const dx = bx - ax, dy = by - ay;
  let t0 = 0, t1 = 1;
  const edges: [number, number][] = [
    [-dx, ax - box.x0],
    [dx, box.x1 - ax],
    [-dy, ay - box.y0],
    [dy, box.y1 - ay],
  ];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return undefined;
      continue;
    }
    const r = q / p;
    if (p < 0) t0 = Math.max(t0, r);
    else t1 = Math.min(t1, r);
    if (t0 > t1) return undefined;
  }
  return [ax + t0 * dx, ay + t0 * dy, ax + t1 * dx, ay + t1 * dy];
}

/** A range the figure set, if it is finite and not empty. */
function usableRange(r: [number, number] | undefined): [number, number] | undefined {
  return r && Number.isFinite(r[0]) && Number.isFinite(r[1]) && r[1] > r[0] ? r : undefined;
}

/** [min, max] over traces of the values plus their error bars, padded by 6%. */
function paddedRange(traces: readonly Trace[], axis: "x" | "y"): [number, number] | undefined {
  const all: number[] = [];
  for (const t of traces) {
    const v = t[axis];
    const err = axis === "x" ? t.error_x : t.error_y;
    v.forEach((d, i) => {
      if (typeof d !== "number") return;
      all.push(d);
      const up = err?.array[i], down = err?.arrayminus[i];
      if (typeof up === "number") all.push(d + up);
      if (typeof down === "number") all.push(d - down);
    });
  }
  if (!all.length) return undefined;
  let lo = all.reduce((a, b) => Math.min(a, b)), hi = all.reduce((a, b) => Math.max(a, b));
  if (hi === lo) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = (hi - lo) * 0.06;
  return [lo - pad, hi + pad];
}

/**
 * Point labels of traces marked `meta.placeLabels` (on the first axes) as annotations,
 * where they fit; fixes both axis ranges so pixel positions are known.
 */
export function placeTraceLabels(
  fig: Figure,
  area: { l: number; t: number; w: number; h: number },
  fontSize: number,
): void {
  const main = fig.data.filter((t) => (t.xaxis ?? "x") === "x" && (t.yaxis ?? "y") === "y");
  const labelled = main.filter((t) => t.meta?.placeLabels && t.text);
  if (!labelled.length) return;
  // A range the figure set itself (e.g. a KL frame that cuts a wide bar) is kept.
  const xr = usableRange(fig.layout.xaxis?.range) ?? paddedRange(main, "x");
  const yr = usableRange(fig.layout.yaxis?.range) ?? paddedRange(main, "y");
  if (!xr || !yr || !fig.layout.xaxis || !fig.layout.yaxis) return;
  fig.layout.xaxis.range = xr;
  fig.layout.yaxis.range = yr;
  const px = (x: number) => area.l + ((x - xr[0]) / (xr[1] - xr[0])) * area.w;
  const py = (y: number) => area.t + (1 - (y - yr[0]) / (yr[1] - yr[0])) * area.h;
  const plot = areaBox(area);
  const markers: Box[] = [], soft: Box[] = [];
  for (const t of main) {
    const pts: [number, number][] = [];
    t.x.forEach((x, i) => {
      const y = t.y[i];
      if (typeof x === "number" && typeof y === "number") pts.push([px(x), py(y)]);
    });
    if (t.mode.includes("markers")) {
      const r = (t.marker?.size ?? 6) / 2 + 1;
      for (const [x, y] of pts) markers.push({ x0: x - r, y0: y - r, x1: x + r, y1: y + r });
    }
    if (t.mode.includes("lines")) {
      for (let k = 1; k < pts.length; k++) {
        soft.push(
          ...segmentBoxes(pts[k - 1]![0], pts[k - 1]![1], pts[k]![0], pts[k]![1], 1, 4, plot),
        );
      }
    }
    t.x.forEach((x, i) => {
      const y = t.y[i];
      if (typeof x !== "number" || typeof y !== "number") return;
      const up = t.error_y?.array[i], down = t.error_y?.arrayminus[i];
      if (typeof up === "number" && typeof down === "number") {
        soft.push(...segmentBoxes(px(x), py(y + up), px(x), py(y - down), 2, 4, plot));
      }
      const right = t.error_x?.array[i], left = t.error_x?.arrayminus[i];
      if (typeof right === "number" && typeof left === "number") {
        soft.push(...segmentBoxes(px(x - left), py(y), px(x + right), py(y), 2, 4, plot));
      }
    });
  }
  const requests: (LabelRequest & { x: number; y: number; color: string })[] = [];
  for (const t of labelled) {
    t.x.forEach((x, i) => {
      const y = t.y[i], text = t.text?.[i];
      if (typeof x !== "number" || typeof y !== "number" || !text) return;
      requests.push({
        px: px(x),
        py: py(y),
        x,
        y,
        text: plainText(text),
        radius: (t.marker?.size ?? 6) / 2,
        color: t.marker?.color ?? t.line?.color ?? "#222222",
      });
    });
  }
  const annotations = (fig.layout.annotations as unknown[] | undefined) ?? [];
  fig.layout.annotations = annotations;
  for (const p of placeLabels(requests, markers, soft, plot, fontSize)) {
    const r = requests[p.index]!;
    annotations.push({
      x: r.x,
      y: r.y,
      xref: "x",
      yref: "y",
      text: escapeRich(r.text),
      showarrow: false,
      xanchor: p.xanchor,
      yanchor: p.yanchor,
      xshift: p.xshift,
      yshift: p.yshift,
      font: { size: fontSize, color: r.color },
    });
  }
}

function areaBox(a: { l: number; t: number; w: number; h: number }): Box {
  return { x0: a.l, y0: a.t, x1: a.l + a.w, y1: a.t + a.h };
}
