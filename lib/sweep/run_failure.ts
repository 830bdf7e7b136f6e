/**
 * Failure records: a run that fails is published as manifest.json with `status: "failed"`
 * and the error, its config, the metric rows logged so far and the last checkpoint known to
 * be good. A run that fails where an ok run of the same id is published (its id carries its
 * config's key, so only a lost cache or a fault that its config does not determine can
 * cause this) keeps the good results and records the failure in `<run-id>/failure/`
 * ({@link FAILURE_DIR}). {@link readFailure} reads either back.
 *
 * @module
 */
import { join } from "node:path";
import type { Manifest } from "./manifest.ts";

/** Where a failure is recorded beside a published run that it must not replace. */
export const FAILURE_DIR = "failure";

/** A failure recorded in a published run directory. */
export interface RunFailure {
  /** The error message (with quantity and step for a NaN). */
  message: string;
  /** When the failed run started (ISO 8601). */
  startedAt: string;
  /** The kept checkpoint's path and step, when there is one. */
  checkpoint?: string;
  /** The failure is recorded in `failure/`: the run's earlier, good results were kept. */
  kept?: boolean;
}

/**
 * The failure recorded in a published run directory, if its manifest says it failed:
 * the error message and, when a checkpoint was kept, where and at which step.
 * @param runDir `<results>/<run-id>`.
 * @param opts `kept: true` also reads a failure recorded beside good results
 *   (`<run-id>/failure/`), which otherwise does not make the run a failed one.
 */
export async function readFailure(
  runDir: string,
  opts: { kept?: boolean } = {},
): Promise<RunFailure | undefined> {
  const at = async (dir: string, kept: boolean): Promise<RunFailure | undefined> => {
    let m: Manifest;
    try {
      m = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
    } catch {
      return undefined;
    }
    if (m.status !== "failed") return undefined;
    return {
      message: m.error?.message ?? "failed",
      startedAt: m.startedAt,
      ...(m.checkpoint
        ? { checkpoint: `${join(dir, m.checkpoint.file)} (step ${m.checkpoint.step})` }
        : {}),
      ...(kept ? { kept } : {}),
    };
  };
  return await at(runDir, false) ??
    (opts.kept ? await at(join(runDir, FAILURE_DIR), true) : undefined);
}
