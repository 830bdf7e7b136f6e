/**
 * A plain scatter plot of paired values, e.g. reward-model score against gold reward on
 * held-out completions (how well does the proxy track the "human"?).
 *
 * @module
 */
import { KitError } from "../util/errors.ts";
import type { Figure, Trace } from "./figure.ts";
import { FALLBACK_COLOURS } from "./style.ts";

/** Options of {@link scatterFigure}. */
export interface ScatterOptions {
  /** Figure title. */
  title: string;
  /** x-axis title. */
  xTitle: string;
  /** y-axis title. */
  yTitle: string;
  /** Hover text per point (e.g. the completion). */
  text?: readonly string[];
  /** Also draw the dashed line y = x over the data's range (when both share a scale). */
  diagonal?: boolean;
}

/**
 * Points `(x[i], y[i])` as markers; non-finite values become gaps.
 * @throws KitError when `x`, `y` (and `text`) differ in length.
 */
export function scatterFigure(
  x: readonly number[],
  y: readonly number[],
  opts: ScatterOptions,
): Figure {
  if (x.length !== y.length || (opts.text && opts.text.length !== x.length)) {
    throw new KitError(
      `scatterFigure: x has ${x.length} values, y ${y.length}` +
        (opts.text ? `, text ${opts.text.length}` : "") + `; they must be equal`,
    );
  }
  const finite = (v: number) => (Number.isFinite(v) ? v : null);
  const points: Trace = {
    type: "scatter",
    mode: "markers",
    name: opts.yTitle,
    x: x.map(finite),
    y: y.map(finite),
    marker: { size: 5, opacity: 0.6, color: FALLBACK_COLOURS[0] },
  };
  if (opts.text) {
    points.text = [...opts.text];
    points.hovertemplate = "%{text}<br>x=%{x:.3f} y=%{y:.3f}<extra></extra>";
  }
  const data: Trace[] = [points];
  if (opts.diagonal) {
    const all = [...x, ...y].filter(Number.isFinite);
    if (all.length) {
      // reduce, not Math.min(...all): spreading 10^5 values overflows the stack
      const lo = all.reduce((a, b) => Math.min(a, b)), hi = all.reduce((a, b) => Math.max(a, b));
      data.push({
        type: "scatter",
        mode: "lines",
        name: "y = x",
        x: [lo, hi],
        y: [lo, hi],
        line: { color: "#7f7f7f", dash: "dash", width: 1 },
      });
    }
  }
  return {
    data,
    layout: {
      title: { text: opts.title },
      xaxis: { title: { text: opts.xTitle }, zeroline: false },
      yaxis: { title: { text: opts.yTitle }, zeroline: false },
      hovermode: "closest",
      showlegend: data.length > 1,
      height: 500,
    },
  };
}
