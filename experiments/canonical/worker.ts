/**
 * Worker process of a parallel sweep: runs one method run described by a job file that
 * the parent wrote (config, upstream stage dirs, run spec). Exit code 0 on success.
 *
 * @module
 */
import { initBackend } from "../../lib/backend/mod.ts";
import { executeRun, type RunSpec } from "./runs.ts";
import { readJson, type Upstream } from "./stages.ts";
import type { CanonicalConfig } from "./config.ts";
import { KitError } from "../../lib/util/errors.ts";

interface Job {
  cache: string;
  root: string;
  config: CanonicalConfig;
  upstream: Upstream;
  run: RunSpec;
}

if (import.meta.main) {
  try {
    const path = Deno.args[0];
    if (!path) throw new KitError("usage: worker.ts <job.json>");
    const job = await readJson<Job>(path);
    await initBackend();
    await executeRun(
      job.cache,
      job.root,
      job.config,
      job.upstream,
      job.run,
      (m) => console.error(m),
    );
  } catch (e) {
    console.error(e instanceof KitError ? `error: ${e.message}` : e);
    Deno.exit(1);
  }
}
