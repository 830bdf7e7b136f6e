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
  /** Bar colour (default: the trace's). */
  color?: string;
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
  /** Label font. */
  textfont?: { size?: number; color?: string };
  /** Hover label format. */
  hovertemplate?: string;
  /** Line style. */
  line?: { color?: string; dash?: Dash; width?: number };
  /**
   * Marker style. `symbol` is one plotly symbol name or one per point; a name ending in
   * `-open` draws the outline only (the kit's mark for an analytic KL).
   */
  marker?: {
    color?: string;
    size?: number;
    opacity?: number;
    symbol?: string | string[];
    line?: { color?: string; width?: number };
  };
  /** Trace opacity. */
  opacity?: number;
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
  /** Kit data carried with the trace (plotly ignores it). */
  meta?: TraceMeta;
}

/** Line dash styles the kit uses. */
export type Dash = "solid" | "dash" | "dot" | "dashdot" | "longdash";

/** What the kit notes on a trace for the layout pass (`sizeFigure`). */
export interface TraceMeta {
  /** The method this trace draws (a key of `METHOD_STYLES` or any other name). */
  method?: string;
  /**
   * Draw this trace's `text` as point labels where they fit without overlapping (placed
   * for each output size); labels that do not fit stay on hover.
   */
  placeLabels?: boolean;
  /** The series this trace draws (a sweep's name in a comparison). */
  series?: string;
  /**
   * What an overlay trace draws: checkpoint evaluations, a checkpoint envelope, or a
   * fitted curve (absent: the method's own points).
   */
  role?: "checkpoints" | "envelope" | "fit";
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
  /** Fixed range (set by the layout pass so labels can be placed in pixels). */
  range?: [number, number];
  /** Any other plotly axis key. */
  [key: string]: unknown;
}

/** A figure's layout: the keys the kit sets, plus anything plotly accepts. */
export interface Layout {
  /** Figure title (plus plotly title keys such as `font`, set by the layout pass). */
  title?: { text: string; [key: string]: unknown };
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
  grid?: {
    rows: number;
    columns: number;
    pattern: "independent" | "coupled";
    xgap?: number;
    ygap?: number;
  };
  /** Kit data carried with the figure: its caption (plotly ignores `meta`). */
  meta?: FigureMeta;
  /** Any other plotly layout key (`xaxis2`, `annotations`, …). */
  [key: string]: unknown;
}

/** Data the kit carries in `layout.meta`. */
export interface FigureMeta {
  /**
   * What the figure shows and how to read its marks: the interval behind the error bars
   * (kind, confidence level, seeds or prompts), how KL was obtained, what the lines are.
   * Plain Unicode text; the layout pass draws it below the plot (HTML, notebooks, images).
   */
  caption?: string;
  /**
   * The figure titles its subplots with annotations above them (the layout pass leaves
   * room above each row for them).
   */
  subplotTitles?: boolean;
}

/** A plotly figure. */
export interface Figure {
  /** Traces, drawn in order. */
  data: Trace[];
  /** Layout. */
  layout: Layout;
}
