/**
 * Fault injection for tests of the divergence path: a NaN at a chosen step, exactly as if
 * training had diverged there. Private to the kit (not re-exported by `train/mod.ts`):
 * tests and the canonical experiment's `RLHF_FAULT` import it by path.
 *
 * @module
 */
import { ConfigError, show } from "../util/errors.ts";

/** The armed fault: the step at which the next `loss/*` check reads NaN. */
let nanFaultStep: number | undefined;

/**
 * Consume the armed fault if it is due: true, once, for the first `loss/*` quantity checked
 * at the armed step. Called by `checkFinite`.
 */
export function takeNanFault(quantity: string, step: number): boolean {
  if (nanFaultStep !== step || !quantity.startsWith("loss/")) return false;
  nanFaultStep = undefined; // one shot
  return true;
}

/**
 * Arm a fault: the first `loss/*` quantity checked at 0-based `step` (by the shared loop or
 * PPO) reads as NaN, once. Process-wide; arm it around one training run only.
 * @returns a function that disarms it (call it in a `finally`).
 */
export function armNanFault(step: number): () => void {
  nanFaultStep = step;
  return () => {
    nanFaultStep = undefined;
  };
}

/** A parsed fault spec: make training of `target` (a method or a run id) NaN at `step`. */
export interface FaultSpec {
  /** The fault's kind; NaN is the only one. */
  kind: "nan";
  /** A method name (`dpo`, every run of it) or one run id (`canonical__dpo__0.1__1`). */
  target: string;
  /** 0-based training step (PPO: iteration). */
  step: number;
}

/**
 * Parse a fault spec `nan:<method or run id>:<step>` (the format of `RLHF_FAULT`).
 * @param spec the text to parse.
 * @param source named in the error message, e.g. `RLHF_FAULT`.
 * @returns the parsed spec.
 * @throws ConfigError naming `source`, the bad value and the format.
 * @example
 * ```ts
 * import { parseFault } from "./_fault.ts";
 * const f = parseFault("nan:dpo:3");
 * if (f.target !== "dpo" || f.step !== 3) throw new Error();
 * ```
 */
export function parseFault(spec: string, source = "fault"): FaultSpec {
  const m = /^nan:([A-Za-z0-9_.+\-]+):(\d+)$/.exec(spec.trim());
  if (!m) {
    throw new ConfigError(
      `${source} must be nan:<method or run id>:<step> (e.g. nan:dpo:3), got ${show(spec)}`,
    );
  }
  return { kind: "nan", target: m[1]!, step: Number(m[2]) };
}
