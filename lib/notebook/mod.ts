/**
 * The notebook entry point: a session on the canonical experiment ({@link openSession}),
 * the exact bandit sweep, the tables and figures notebooks show, and display in Jupyter on
 * the Deno kernel.
 *
 * @module
 */
export * from "./session.ts";
export * from "./tables.ts";
export { displayFigure, displayTable, liveFigure } from "../plot/display.ts";
export type { LiveFigure } from "../plot/display.ts";
export { sideBySide } from "../plot/side_by_side.ts";
export {
  BANDIT_SWEEP_DEFAULTS,
  banditSweep,
  type BanditSweepConfig,
  banditSweepConfig,
  type BanditSweepResult,
} from "../../experiments/bandit.ts";
