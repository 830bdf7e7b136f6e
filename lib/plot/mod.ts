/**
 * Plots: plotly figure builders from arquero tables in one style, HTML pages, SVG/PNG/PDF
 * export through plotly.js in a headless Chromium, tables formatted for the terminal, CSV
 * and notebooks, and Jupyter display. This folder reshapes tables into figures and never
 * computes metrics.
 *
 * @module
 */
export * from "./figure.ts";
export * from "./style.ts";
export * from "./intervals.ts";
export * from "./size_figure.ts";
export * from "./frontier.ts";
export * from "./overoptimisation.ts";
export * from "./overlays.ts";
export * from "./curves.ts";
export * from "./scatter.ts";
export * from "./html.ts";
export * from "./chromium.ts";
export * from "./image.ts";
export * from "./display.ts";
export * from "./report.ts";
export * from "./report_page.ts";
export * from "./side_by_side.ts";
