/**
 * Worker process of a parallel sweep: runs one planned run described by a job file that
 * the parent wrote (cache and results roots, the planned run, its upstream stages).
 * Exit code 0 on success.
 *
 * @module
 */
import { initBackend } from "../../lib/backend/mod.ts";
import { readJson } from "../../lib/sweep/json_file.ts";
import { KitError } from "../../lib/util/errors.ts";
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
  try {
    const path = Deno.args[0];
    if (!path) throw new KitError("usage: worker.ts <job.json>");
    const job = await readJson<Job>(path);
    await initBackend();
    await executeRun(job.cache, job.root, job.run, job.upstream, (m) => console.error(m));
  } catch (e) {
    console.error(e instanceof KitError ? `error: ${e.message}` : e);
    Deno.exit(1);
  }
}
