/**
 * The x range of a figure whose x axis is KL: it frames the points, checkpoints and
 * envelopes, and takes in error bars unless one would squeeze everything else into a corner.
 * A t-interval over three seeds with one outlier (KL 12, 12 and 58 nats: [−38, 93]) is honest,
 * but drawn whole it leaves every other point in the left fifth of the frame. Such bars are
 * cut at the frame, and the caption gives each cut interval in numbers, so nothing is hidden.
 * KL is never negative, so the frame starts just left of 0. Not re-exported.
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
 * Frame the x axis (KL ≥ 0) of `traces`: points and bars whose ends lie within the points'
 * span plus half of it are kept whole; a bar reaching further is cut at the frame, and
 * listed as `label: KL interval [lo, hi]` in the note.
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
  for (const t of traces) for (const x of t.x) if (typeof x === "number") points.push(x);
  if (!points.length) return { note: "" };
  const hiPts = Math.max(...points, 0);
  const span = Math.max(hiPts - Math.min(...points, 0), 1e-9);
  const hiAllowed = hiPts + BAR_ALLOWANCE * span;
  const cut: string[] = [];
  let hi = hiPts;
  for (const t of traces) {
    const e = t.error_x;
    if (!e) continue;
    t.x.forEach((x, i) => {
      const up = e.array[i], down = e.arrayminus[i];
      if (typeof x !== "number" || typeof up !== "number" || typeof down !== "number") return;
      const end = x + up;
      if (end <= hiAllowed && x - down >= -0.05 * span) {
        hi = Math.max(hi, end);
        return;
      }
      if (end <= hiAllowed) hi = Math.max(hi, end);
      const label = [plainText(t.name ?? ""), t.text?.[i] ? plainText(t.text[i]!) : ""]
        .filter(Boolean).join(" ");
      cut.push(`${label}: KL interval [${round(x - down)}, ${round(end)}]`);
    });
  }
  if (!cut.length) return { note: "" };
  const pad = 0.06 * Math.max(hi, 1e-9);
  return {
    range: [-pad, hi + pad],
    note: `Bars cut at the frame (KL cannot be negative; a wide interval would hide the rest): ${
      cut.join("; ")
    }.`,
  };
}

/** A number as the caption prints it: whole above 10, else 2 significant digits. */
function round(v: number): string {
  return Math.abs(v) >= 10 ? v.toFixed(0) : v.toPrecision(2);
}
