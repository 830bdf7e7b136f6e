/**
 * The x range of a figure whose x axis is KL: it frames the points, checkpoints and
 * envelopes, and takes in error bars unless one would squeeze everything else into a corner.
 * A t-interval over three seeds with one outlier (KL 12, 12 and 58 nats: [−38, 93]) is honest,
 * but drawn whole it leaves every other point in the left fifth of the frame. Such bars are
 * cut at the frame, and the caption gives each cut interval in numbers, so nothing is hidden.
 * Not re-exported.
 *
 * @module
 */
import type { Trace } from "./figure.ts";
import { plainText } from "./style.ts";

/** How far past the points' span the bars may take the frame before they are cut. */
const BAR_ALLOWANCE = 0.5;

/** The frame and the caption sentence naming the intervals it cuts ("" when none). */
export interface KlFrame {
  /** The x range to set, or undefined to let the layout pass frame everything. */
  range?: [number, number];
  /** The caption sentence on the cut bars. */
  note: string;
}

/**
 * Frame the x axis (KL) of `traces`: every point is inside; a bar whose ends lie within the
 * points' span widened by half of it on each side is kept whole; a bar reaching further is
 * cut at the frame, and listed as `label: KL interval [lo, hi]` in the note. Without a cut bar,
 * or when the points have no span, nothing is set.
 * @example
 * ```ts
 * import { klFrame } from "./_kl_frame.ts";
 * const t = {
 *   type: "scatter" as const, mode: "markers" as const, name: "DPO", x: [10, 27], y: [0.3, 0.4],
 *   text: ["β=0.3", "β=0.05"],
 *   error_x: { type: "data" as const, symmetric: false as const, visible: true as const,
 *     array: [1, 65], arrayminus: [1, 65] },
 * };
 * const f = klFrame([t]);
 * if (!f.range || f.range[1] > 40 || !f.note.includes("[-38, 92]")) throw new Error(f.note);
 * ```
 */
export function klFrame(traces: readonly Trace[]): KlFrame {
  const points: number[] = [];
  for (const t of traces) {
    for (const x of t.x) if (typeof x === "number" && Number.isFinite(x)) points.push(x);
  }
  if (!points.length) return { note: "" };
  // Sampled KL can dip just below 0; the frame holds every point and KL 0.
  const lo = Math.min(...points, 0), hi = Math.max(...points, 0);
  const span = hi - lo;
  if (!(span > 0)) return { note: "" };
  const loAllowed = lo - BAR_ALLOWANCE * span, hiAllowed = hi + BAR_ALLOWANCE * span;
  const cut: string[] = [];
  let frameLo = lo, frameHi = hi;
  for (const t of traces) {
    const e = t.error_x;
    if (!e) continue;
    t.x.forEach((x, i) => {
      const up = e.array[i], down = e.arrayminus[i];
      if (typeof x !== "number" || typeof up !== "number" || typeof down !== "number") return;
      const a = x - down, b = x + up;
      if (a >= loAllowed) frameLo = Math.min(frameLo, a);
      if (b <= hiAllowed) frameHi = Math.max(frameHi, b);
      if (a >= loAllowed && b <= hiAllowed) return;
      const label = [plainText(t.name ?? ""), t.text?.[i] ? plainText(t.text[i]!) : ""]
        .filter(Boolean).join(" ");
      cut.push(`${label}: KL interval [${round(a)}, ${round(b)}]`);
    });
  }
  if (!cut.length) return { note: "" };
  const pad = 0.06 * (frameHi - frameLo);
  return {
    range: [frameLo - pad, frameHi + pad],
    note: `Bars cut at the frame (drawn whole they would hide the rest): ${cut.join("; ")}.`,
  };
}

/** A number as the caption prints it: whole above 10, else 2 significant digits. */
function round(v: number): string {
  return Math.abs(v) >= 10 ? v.toFixed(0) : v.toPrecision(2);
}
