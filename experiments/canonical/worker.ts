/**
 * Worker process of a parallel sweep: runs one planned run described by a job file that
 * the parent wrote (cache and results roots, the planned run, its upstream stages).
 * Exit code 0 on success; on failure it prints one line and leaves the error beside the
 * job file (`<job>.error.json`, execute.ts `WorkerError`), so the parent can report it
 * (and stop the sweep for a full disk).
 *
 * @module
 */
import { initBackend } from "../../lib/backend/mod.ts";
import { readJson, writeJson } from "../../lib/sweep/json_file.ts";
import { checkRunId, checkUserPath } from "../../lib/sweep/paths.ts";
import { KitError, ResourceError, resourceError } from "../../lib/util/errors.ts";
import type { WorkerError } from "./execute.ts";
import type { PlannedRun } from "./plan.ts";
import { executeRun } from "./run.ts";
import type { Upstream } from "./stages/upstream.ts";

/** What the parent writes for one worker. */
interface Job {
  cache: string;
  root: string;
  run: PlannedRun;
  upstream: Upstream;
}

if (import.meta.main) {
  const path = Deno.args[0];
  try {
    if (!path) throw new KitError("usage: worker.ts <job.json>");
    const job = await readJson<Job>(path);
    // a job file is input like any other: its paths and run id are checked
    checkRunId(job.run?.id, `${path}: run.id`);
    checkUserPath(job.root, `${path}: root`);
    checkUserPath(job.cache, `${path}: cache`);
    await initBackend();
    await executeRun(job.cache, job.root, job.run, job.upstream, (m) => console.error(m));
  } catch (e) {
    const err = resourceError(e) ?? e;
    console.error(err instanceof KitError ? `error: ${err.message}` : err);
    if (path && err instanceof Error) {
      const out: WorkerError = {
        name: err.name,
        message: err.message,
        ...(err instanceof ResourceError ? { path: err.path, code: err.code } : {}),
      };
      await writeJson(`${path}.error.json`, out).catch(() => {});
    }
    Deno.exit(1);
  }
}
