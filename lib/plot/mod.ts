/**
 * Plots: plotly figure builders from arquero tables, standalone HTML and PNG export, and
 * Jupyter display. This folder reshapes tables into figures and never computes metrics.
 *
 * @module
 */
export * from "./figure.ts";
export * from "./frontier.ts";
export * from "./curves.ts";
export * from "./scatter.ts";
export * from "./html.ts";
export * from "./png.ts";
export * from "./display.ts";
export * from "./report.ts";
export * from "./side_by_side.ts";
