/**
 * The layout pass that turns a figure from a builder into one drawn at a given size: fonts,
 * margins and legend placed for that size, point labels placed where they do not overlap,
 * and the caption (`layout.meta.caption`) drawn below the plot. HTML pages, notebook
 * displays and exported images all go through it, so they show the same figure.
 *
 * Margins are set explicitly (no plotly auto-margins) and, where labels are placed, the
 * axis ranges too, so that pixel positions are known when labels are placed.
 *
 * @module
 */
import type { Axis, Figure, Layout } from "./figure.ts";
import { escapeRich, FONT_FAMILY, plainText } from "./style.ts";
import { CHAR_WIDTH, placeTraceLabels } from "./_labels.ts";

/** An output size: CSS pixels, the pixel ratio of raster exports, and type sizes. */
export interface FigureSize {
  /** Width in CSS px. */
  width: number;
  /**
   * Height in CSS px of a one-row figure without caption (grids grow with their rows);
   * undefined: the figure's own `layout.height`.
   */
  height?: number;
  /** Pixel ratio of PNG exports (PNG size = width·scale × height·scale). */
  scale: number;
  /** Base font size in px. */
  font: number;
  /** Legend to the right of the plot, or in rows above it (narrow figures). */
  legend: "right" | "top";
  /** Marker size factor. */
  markerScale: number;
  /** Draw the figure's title (a paper figure has its caption in the paper instead). */
  title: boolean;
  /**
   * The caption adds height below the figure (true), or takes room inside the fixed
   * height (false, e.g. a 16:9 slide).
   */
  captionGrows: boolean;
}

/** The size presets of the kit. */
export type SizeName = "screen" | "paper" | "slide";

/**
 * Size presets:
 * - `screen`: 900 px wide, the figure's own height plus its caption (HTML and notebooks);
 * - `paper`: one column of a two-column paper, 3.5 in: 350 × 250 CSS px at scale 2 gives a
 *   700 × 500 PNG (200 dpi) plus the caption's lines below it; 10 px type prints at
 *   7.2 pt; no title (the paper's caption has it);
 * - `slide`: 16:9, 640 × 360 CSS px at scale 2 gives a 1280 × 720 PNG, caption included.
 */
export const FIGURE_SIZES: Readonly<Record<SizeName, FigureSize>> = {
  screen: {
    width: 900,
    scale: 1,
    font: 13,
    legend: "right",
    markerScale: 1,
    title: true,
    captionGrows: true,
  },
  paper: {
    width: 350,
    height: 250,
    scale: 2,
    font: 10,
    legend: "top",
    markerScale: 0.75,
    title: false,
    captionGrows: true,
  },
  slide: {
    width: 640,
    height: 360,
    scale: 2,
    font: 12,
    legend: "right",
    markerScale: 0.9,
    title: true,
    captionGrows: false,
  },
};

/** Options of {@link sizeFigure}. */
export interface SizeFigureOptions {
  /** Draw the caption below the plot (default true). */
  caption?: boolean;
}

/** Break plain text into lines of at most `chars` characters, at spaces. */
export function wrapText(text: string, chars: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > chars) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

const LINE = 1.3; // line height in ems
const BR = /<br\s*\/?>/i;

/** Width in px of rich text's longest line. */
function textWidth(rich: string, font: number): number {
  return Math.max(0, ...rich.split(BR).map((l) => plainText(l).length)) * font * CHAR_WIDTH;
}

/** Rich text that fits `width` px: as it is, else its plain text wrapped. */
function fitText(rich: string, width: number, font: number): string[] {
  if (textWidth(rich, font) <= width) return rich.split(BR);
  return wrapText(plainText(rich), Math.max(8, Math.floor(width / (font * CHAR_WIDTH))))
    .map(escapeRich);
}

/**
 * How much taller than one row a grid of `rows` is drawn: half a row's height per row, a
 * quarter more for the gaps; a fixed-aspect size (a slide) keeps its height up to 2 rows.
 */
function gridGrowth(rows: number, grows: boolean): number {
  if (rows <= 1 || (!grows && rows <= 2)) return 1;
  return Math.max(1, rows / 2 + 0.25);
}

/** Legend entries: traces that show one. */
function legendNames(fig: Figure): string[] {
  const names: string[] = [];
  for (const t of fig.data) if (t.showlegend !== false && t.name) names.push(t.name);
  return names;
}

/** Height in px of a horizontal legend of `names` packed into rows of `width` px. */
function topLegendHeight(
  names: readonly string[],
  width: number,
  font: number,
  symbol: number,
): number {
  if (!names.length) return 0;
  let used = 0, tallest = 1, total = 0;
  for (const n of names) {
    const lines = n.split(BR).length;
    const w = symbol + textWidth(n, font);
    if (used > 0 && used + w > width) {
      total += tallest * font * LINE + 6;
      used = 0;
      tallest = 1;
    }
    used += w;
    tallest = Math.max(tallest, lines);
  }
  return total + tallest * font * LINE + 6 + 4;
}

/**
 * The figure laid out at `size`: width and height, fonts, margins, legend, point labels
 * and caption. The input is not changed.
 * @param size a preset name or a {@link FigureSize}.
 * @returns a new figure whose `layout.width`/`height` are the CSS size of the output.
 */
export function sizeFigure(
  fig: Figure,
  size: SizeName | FigureSize,
  opts: SizeFigureOptions = {},
): Figure {
  const s = typeof size === "string" ? FIGURE_SIZES[size] : size;
  const out = structuredClone(fig) as Figure;
  const L: Layout = out.layout;
  const font = s.font, small = Math.max(7, font - 1);
  const width = s.width;
  const rows = L.grid?.rows ?? 1, columns = L.grid?.columns ?? 1;
  const subplotTitles = L.meta?.subplotTitles === true;

  // Legend.
  const names = legendNames(out);
  const showLegend = L.showlegend === false ? false : names.length > 1 || L.showlegend === true;
  // A legend entry's symbol: plotly's item width (30 px unless the builder widened it so a
  // line's dash shows) and 20 px around it.
  const itemWidth = typeof L.legend?.itemwidth === "number" ? L.legend.itemwidth : 30;
  const symbol = itemWidth + 20;
  const legendWidth = showLegend && s.legend === "right"
    ? symbol + Math.max(...names.map((n) => textWidth(n, small)))
    : 0;

  // Title, fitted to the width.
  const titleFont = Math.round(font * 1.15);
  const titleText = s.title ? L.title?.text ?? "" : "";
  const titleLines = titleText ? fitText(titleText, width - 20, titleFont) : [];
  const titleHeight = titleLines.length ? titleLines.length * titleFont * LINE + 12 : 4;

  // Caption, wrapped to the width.
  const captionFont = small;
  const captionText = opts.caption === false ? "" : L.meta?.caption ?? "";
  const captionLines = captionText
    ? wrapText(captionText, Math.floor((width - 16) / (captionFont * CHAR_WIDTH)))
    : [];
  const captionHeight = captionLines.length ? captionLines.length * captionFont * LINE + 8 : 0;

  // Heights: a fixed size, grown for grids with many rows, and for the caption if it grows.
  const baseHeight = s.height === undefined
    ? (typeof L.height === "number" ? L.height : 500)
    : Math.round(s.height * gridGrowth(rows, s.captionGrows));
  const height = baseHeight + (s.captionGrows ? Math.round(captionHeight) : 0);

  // y titles longer than their panel break before their unit; the left margin makes room.
  const yKeys = Object.keys(L).filter((k) => /^yaxis\d*$/.test(k));
  // Subplot titles (annotations on "x… domain"), fitted to their cell's width.
  const gapX = font * 6;
  const roughCellW = (width - font * 5.2 - (legendWidth ? legendWidth + 12 : font * 1.5) -
    gapX * (columns - 1)) / columns;
  let subtitleLines = 0;
  if (subplotTitles) {
    for (const a of (L.annotations as Record<string, unknown>[] | undefined) ?? []) {
      if (typeof a.xref !== "string" || !a.xref.endsWith(" domain")) continue;
      const lines = fitText(String(a.text ?? ""), roughCellW, small);
      a.text = lines.join("<br>");
      a.font = { size: small };
      a.align = "left";
      subtitleLines = Math.max(subtitleLines, lines.length);
    }
  }
  const subtitle = subtitleLines ? subtitleLines * small * LINE + 6 : 0;
  const xTitles = Object.keys(L).filter((k) => /^xaxis\d*$/.test(k))
    .map((k) => (L[k] as Axis).title?.text ?? "");
  const innerX = xTitles.some((t, i) => t !== "" && i < xTitles.length - columns);
  const gapY = font * 1.4 + 10 + subtitle + (innerX ? font * LINE + 4 : 0);
  const topRoom = titleHeight + subtitle;
  const legendRight = legendWidth ? legendWidth + 12 : font * 1.5;
  const legendHeight = showLegend && s.legend === "top"
    ? topLegendHeight(names, width - font * 1.5, small, symbol)
    : 0;
  const axisBelow = font * 5 + 6; // x tick labels and the x title (with a subscript)
  const roughPlotH = height - topRoom - legendHeight - axisBelow - captionHeight;
  const cellH = (roughPlotH - gapY * (rows - 1)) / rows;
  let twoLineY = false;
  for (const k of yKeys) {
    const a = L[k] as Axis;
    const t = a.title?.text ?? "";
    if (t && textWidth(t, font) > cellH && t.includes(" [")) {
      a.title = { ...a.title, text: t.replace(" [", "<br>[") };
      twoLineY = true;
    }
  }
  const left = Math.round(font * (twoLineY ? 6.4 : 5.2));
  const margin = {
    l: left,
    r: Math.round(legendRight),
    t: Math.round(topRoom + legendHeight),
    b: Math.round(axisBelow + captionHeight),
    pad: 0,
  };
  const plotW = width - margin.l - margin.r;
  const plotH = Math.max(40, height - margin.t - margin.b);

  L.width = width;
  L.height = height;
  L.autosize = false;
  L.margin = margin;
  L.font = { family: FONT_FAMILY, size: font, color: "#222222" };
  L.paper_bgcolor = "#ffffff";
  L.plot_bgcolor = "#ffffff";
  L.showlegend = showLegend;
  if (titleLines.length) {
    L.title = {
      text: titleLines.join("<br>"),
      font: { size: titleFont },
      x: 0.5,
      xanchor: "center",
      xref: "container",
      y: 1 - 6 / height,
      yanchor: "top",
      yref: "container",
    };
  } else delete L.title;
  L.legend = s.legend === "right"
    ? {
      x: 1.02,
      xanchor: "left",
      y: 1,
      yanchor: "top",
      font: { size: small },
      itemwidth: itemWidth,
    }
    : {
      itemwidth: itemWidth,
      orientation: "h",
      x: -margin.l / plotW,
      xanchor: "left",
      y: 1 + (subtitle + 4) / plotH,
      yanchor: "bottom",
      font: { size: small },
    };

  if (L.grid && (rows > 1 || columns > 1)) {
    // plotly's grid: step = 1/(n − gap) of the plot, cell = step·(1 − gap), so a gap of
    // g px over a total of P px is gap = g·n / (P + g).
    const gap = (px: number, n: number, total: number) => (px * n) / (total + px);
    L.grid = { ...L.grid, xgap: gap(gapX, columns, plotW), ygap: gap(gapY, rows, plotH) };
  }
  // Axes: white background, light grid, ticks sized to the type.
  for (const key of Object.keys(L)) {
    if (!/^[xy]axis\d*$/.test(key)) continue;
    const a = L[key] as Axis;
    L[key] = {
      ...a,
      title: { ...a.title, font: { size: font } },
      tickfont: { size: small },
      showline: true,
      linecolor: "#444444",
      ticks: "outside",
      ticklen: 3,
      gridcolor: "#e6e6e6",
      automargin: false,
    };
  }
  const annotations = (L.annotations as Record<string, unknown>[] | undefined) ?? [];
  for (const a of annotations) a.font = { size: font, ...(a.font as object | undefined) };
  L.annotations = annotations;

  for (const t of out.data) {
    if (t.marker?.size) t.marker.size = Math.max(3, Math.round(t.marker.size * s.markerScale));
  }
  placeTraceLabels(out, { l: margin.l, t: margin.t, w: plotW, h: plotH }, small);

  if (captionLines.length) {
    annotations.push({
      text: captionLines.map(escapeRich).join("<br>"),
      xref: "paper",
      yref: "paper",
      x: (8 - margin.l) / plotW,
      y: -axisBelow / plotH,
      xanchor: "left",
      yanchor: "top",
      align: "left",
      showarrow: false,
      font: { size: captionFont, color: "#444444" },
    });
  }
  return out;
}
