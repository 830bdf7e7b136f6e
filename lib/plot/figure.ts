/**
 * Plotly figures as plain JSON: the types every builder returns.
 *
 * A figure is `{data, layout}` exactly as plotly.js 3.0.1 takes it (note: v3 only accepts
 * titles as objects, `{text: "…"}`), so it can be tested as JSON, displayed in a notebook
 * or written into a standalone HTML file. Builders only reshape table values; they never
 * compute metrics (that is `eval/` and `sweep/`).
 *
 * @module
 */

/** A value on a plotly axis; `null` leaves a gap. */
export type Datum = number | string | null;

/** Asymmetric error bars in data units (`array` above, `arrayminus` below). */
export interface ErrorBars {
  /** Lengths given as data. */
  type: "data";
  /** Up and down lengths differ. */
  symmetric: false;
  /** Length above each point (`hi − mid`). */
  array: (number | null)[];
  /** Length below each point (`mid − lo`). */
  arrayminus: (number | null)[];
  /** Drawn. */
  visible: true;
  /** Line width in px. */
  thickness?: number;
  /** Cap width in px. */
  width?: number;
}

/** A `scatter` trace (the only trace type the kit draws). */
export interface Trace {
  /** Trace type. */
  type: "scatter";
  /** What to draw. */
  mode: "markers" | "lines" | "lines+markers" | "lines+markers+text" | "markers+text";
  /** Legend entry. */
  name: string;
  /** x values. */
  x: Datum[];
  /** y values, as long as `x`. */
  y: Datum[];
  /** Per-point labels (drawn when `mode` has `text`, else shown on hover). */
  text?: string[];
  /** Where labels sit relative to their points. */
  textposition?: "top center" | "bottom center" | "top right";
  /** Hover label format. */
  hovertemplate?: string;
  /** Line style. */
  line?: { color?: string; dash?: "solid" | "dash" | "dot"; width?: number };
  /** Marker style. */
  marker?: { color?: string; size?: number; opacity?: number };
  /** Horizontal error bars. */
  error_x?: ErrorBars;
  /** Vertical error bars. */
  error_y?: ErrorBars;
  /** Subplot x axis, e.g. `x2`. */
  xaxis?: string;
  /** Subplot y axis, e.g. `y2`. */
  yaxis?: string;
  /** Traces of one group toggle together in the legend. */
  legendgroup?: string;
  /** Whether this trace has a legend entry. */
  showlegend?: boolean;
}

/** An axis's layout. */
export interface Axis {
  /** Axis title (plotly 3 takes only the object form). */
  title: { text: string };
  /** Scale. */
  type?: "linear" | "log";
  /** Draw the zero line. */
  zeroline?: boolean;
  /** Share range with another axis, e.g. `x`. */
  matches?: string;
}

/** A figure's layout: the keys the kit sets, plus anything plotly accepts. */
export interface Layout {
  /** Figure title. */
  title?: { text: string };
  /** First x axis (`xaxis2`, … for subplots go in the index signature). */
  xaxis?: Axis;
  /** First y axis. */
  yaxis?: Axis;
  /** Height in px. */
  height?: number;
  /** Width in px (default: fill the container). */
  width?: number;
  /** Hover behaviour. */
  hovermode?: "closest" | "x unified";
  /** Legend placement and style. */
  legend?: Record<string, unknown>;
  /** Subplot grid. */
  grid?: { rows: number; columns: number; pattern: "independent" | "coupled" };
  /** Any other plotly layout key (`xaxis2`, `annotations`, …). */
  [key: string]: unknown;
}

/** A plotly figure. */
export interface Figure {
  /** Traces, drawn in order. */
  data: Trace[];
  /** Layout. */
  layout: Layout;
}

/** Colours for methods/runs, in order of first appearance (plotly's default cycle). */
export const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
] as const;
