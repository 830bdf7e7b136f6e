/**
 * Two figures as one, side by side: plotly subplots on an independent 1 × 2 grid, each
 * panel keeping its traces, axes and a subtitle; legend entries shared by name are shown
 * once (toggling a method toggles it in both panels).
 *
 * @module
 */
import type { Figure } from "./figure.ts";

/** A figure and the subtitle shown above its panel. */
export type Panel = readonly [figure: Figure, subtitle: string];

/**
 * Combine two figures into one with two panels.
 * @param left the left panel and its subtitle.
 * @param right the right panel and its subtitle.
 * @param title the combined figure's title.
 * @example
 * ```ts
 * import { sideBySide } from "./side_by_side.ts";
 * const f = { data: [{ type: "scatter" as const, mode: "markers" as const, x: [1], y: [2], name: "ppo" }], layout: {} };
 * const both = sideBySide([f, "left"], [f, "right"], "two panels");
 * if (both.data.length !== 2 || both.data[1]!.xaxis !== "x2") throw new Error();
 * ```
 */
export function sideBySide(left: Panel, right: Panel, title: string): Figure {
  const [l, leftTitle] = left;
  const [r, rightTitle] = right;
  const subtitle = (text: string, x: number) => ({
    text,
    x,
    y: 1.06,
    xref: "paper",
    yref: "paper",
    showarrow: false,
    font: { size: 12 },
  });
  const shown = new Set(l.data.filter((t) => t.showlegend !== false).map((t) => t.name));
  return {
    data: [
      ...l.data.map((t) => ({ ...t, legendgroup: t.legendgroup ?? t.name })),
      ...r.data.map((t) => ({
        ...t,
        xaxis: "x2",
        yaxis: "y2",
        legendgroup: t.legendgroup ?? t.name,
        showlegend: t.showlegend !== false && !shown.has(t.name),
      })),
    ],
    layout: {
      title: { text: title },
      grid: { rows: 1, columns: 2, pattern: "independent" },
      xaxis: l.layout.xaxis,
      yaxis: l.layout.yaxis,
      xaxis2: r.layout.xaxis,
      yaxis2: r.layout.yaxis,
      annotations: [subtitle(leftTitle, 0.2), subtitle(rightTitle, 0.8)],
      hovermode: "closest",
      height: 560,
    },
  };
}
