/**
 * The notebook entry point: a session on the canonical experiment ({@link openSession}),
 * the exact bandit and token-level sweeps, the tables and figures notebooks show, and
 * display in Jupyter on the Deno kernel.
 *
 * @module
 */
export * from "./session.ts";
export * from "./tables.ts";
export { displayFigure, displayTable, liveFigure } from "../plot/display.ts";
export type { LiveFigure } from "../plot/display.ts";
export { sideBySide } from "../plot/side_by_side.ts";
export {
  type BonSection,
  type CanonicalConfig,
  type DataConfig,
  type DpoSection,
  type EvalSection,
  type GrpoSection,
  type KtoSection,
  type Method,
  METHODS,
  type ModelSection,
  type OdpoSection,
  type PpoSection,
  type PrefsConfig,
  type RlooSection,
} from "../../experiments/canonical/config.ts";
export type { PlannedRun } from "../../experiments/canonical/plan.ts";
export type { ConfigPatch } from "../../experiments/canonical/presets.ts";
export type { EvalConfig, MethodRunConfig } from "../../experiments/canonical/methods/types.ts";
export type { CanonicalData } from "../../experiments/canonical/stages/data.ts";
export {
  type Upstream,
  UPSTREAM_STAGES,
  type UpstreamStage,
} from "../../experiments/canonical/stages/upstream.ts";
export type { SweepResult } from "../../experiments/canonical/execute.ts";
export type {
  Machine,
  RunTime,
  StageTime,
  SweepManifest,
} from "../../experiments/canonical/sweep_manifest.ts";
export {
  BANDIT_METHODS,
  BANDIT_SWEEP_DEFAULTS,
  banditSweep,
  type BanditSweepConfig,
  banditSweepConfig,
  type BanditSweepResult,
} from "../../experiments/bandit.ts";
export {
  predictLanding,
  TOKEN_METHODS,
  TOKEN_SWEEP_DEFAULTS,
  tokenFigures,
  type TokenMethod,
  type TokenPrediction,
  tokenSweep,
  type TokenSweepConfig,
  tokenSweepConfig,
  type TokenSweepOptions,
  type TokenSweepResult,
  tokenSweepTask,
  trainTokenMethod,
} from "../../experiments/token.ts";
