/**
 * The record a method run leaves behind: a cached stage directory, published as
 * `<results>/<run-id>/` with
 *
 *   config.json    what the caller passes (the run's config and the experiment's)
 *   metrics.csv    one row per logged step (only what config, seed and backend determine)
 *   timings.csv    the wall-clock columns (`perf/*`) of those rows
 *   summary.csv    one row: the run's headline numbers
 *   samples.jsonl  example completions
 *   manifest.json  versions, backend, seed, config hash, timings, status — written last
 *
 * so a rerun of the same config and seed reproduces metrics.csv and summary.csv byte for
 * byte. A run that fails (a NaN loss, anything else) is published as a failure record
 * instead: manifest.json with `status: "failed"` and the error, config.json, the metric
 * rows logged so far and the last checkpoint known to be good ({@link CheckpointKeeper});
 * its cached stage is discarded so a rerun starts clean.
 *
 * Publishing never leaves a half-published run and never replaces good results with a
 * failure:
 * - manifest.json commits a run directory. Publishing removes it first, writes every
 *   other file (each atomically), then writes it last; a reader takes a directory without
 *   manifest.json for an unfinished one. A disk that fills up midway leaves a directory
 *   without a manifest and a one-line error naming the file; the next sweep publishes it
 *   again from the cache.
 * - Files copied from the cache are checked against the SHA-256 their stage recorded
 *   before anything in the published directory is touched.
 * - A run that fails where an ok run of the same id is published (its id carries its
 *   config's key, so only a lost cache or a fault that its config does not determine can
 *   cause this) keeps the good results and records the failure in `<run-id>/failure/`.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import * as aq from "arquero";
import type { BackendInfo } from "../backend/mod.ts";
import type { MetricRow } from "../train/metrics.ts";
import { writeBytesAtomic, writeTextAtomic } from "../util/atomic_write.ts";
import { FileFormatError, KitError } from "../util/errors.ts";
import { hashKey } from "./hash.ts";
import { writeJson } from "./json_file.ts";
import { withLock } from "./lock.ts";
import { buildManifest, type Manifest, writeManifest } from "./manifest.ts";
import { readCsvTable, writeCsvTable, writeMetricRows } from "./results_table.ts";
import { readStageChecksums, runStage, type StageInputs, type StageResult } from "./stage_cache.ts";
import { sha256Hex } from "./checksums.ts";

/** The kept policy checkpoint of a run (in its stage dir, then in its failure record). */
export const POLICY_CHECKPOINT = "policy.ckpt";
/** A checkpoint saved but not yet confirmed good by the next step (never published). */
const PENDING_CHECKPOINT = "policy.pending.ckpt";

/**
 * Files a published run directory may hold; anything else there is left alone.
 * manifest.json comes last: it is written when the rest is in place, and commits the run.
 */
export const RUN_FILES = [
  "config.json",
  "metrics.csv",
  "timings.csv",
  "summary.csv",
  "samples.jsonl",
  POLICY_CHECKPOINT,
  "manifest.json",
] as const;

/** Where a failure is recorded beside a published run that it must not replace. */
export const FAILURE_DIR = "failure";

/**
 * Keeps the last checkpoint known to be good. A step's loss is computed before its update,
 * so the weights saved after step d are known good only once step d+1's metrics are
 * finite too: {@link CheckpointKeeper.afterStep} saves them as pending and promotes them to
 * {@link POLICY_CHECKPOINT} at the next finite step. A NaN at step k thus keeps weights
 * whose loss was finite, never the ones that produced the NaN.
 */
export class CheckpointKeeper {
  /** Steps done when {@link POLICY_CHECKPOINT} was last promoted. */
  keptStep: number | undefined;
  #pendingStep: number | undefined;

  /**
   * Writes the weights being trained to a path; set by the run's body once it has built
   * its policy. Until then nothing is saved.
   */
  save: ((path: string, step: number) => Promise<void>) | undefined;

  /**
   * Keep checkpoints in `dir`, one every `every` steps.
   * @param dir the run's stage directory.
   * @param every save every this many steps (0: never).
   */
  constructor(private readonly dir: string, private readonly every: number) {}

  /** Call after every step whose metrics were finite, with the number of steps done. */
  async afterStep(done: number): Promise<void> {
    if (this.#pendingStep !== undefined) {
      await Deno.rename(join(this.dir, PENDING_CHECKPOINT), join(this.dir, POLICY_CHECKPOINT));
      this.keptStep = this.#pendingStep;
      this.#pendingStep = undefined;
    }
    if (!this.save || this.every <= 0 || done % this.every !== 0) return;
    await this.save(join(this.dir, PENDING_CHECKPOINT), done);
    this.#pendingStep = done;
  }

  /** Remove both checkpoints (a finished run keeps no weights: they guard against failure). */
  async discard(): Promise<void> {
    for (const f of [POLICY_CHECKPOINT, PENDING_CHECKPOINT]) {
      await Deno.remove(join(this.dir, f)).catch(() => {});
    }
  }
}

/** What a run's body hands back to be recorded. */
export interface RunOutput {
  /** Step metrics (`perf/*` columns go to timings.csv). */
  rows: readonly MetricRow[];
  /** The run's one summary row. */
  summary: Record<string, unknown>;
  /** Example completions, one JSON object per line of samples.jsonl. */
  samples: readonly Record<string, unknown>[];
}

/** What a run's body is given. */
export interface RunContext {
  /** The run's stage directory (renamed when it commits: do not record it). */
  dir: string;
  /** Push every logged row here as it comes, so a failure record keeps them. */
  rows: MetricRow[];
  /** The checkpoint keeper of this run (every `checkpointEvery` steps); set its `save`. */
  checkpoints: CheckpointKeeper;
}

/** Arguments of {@link recordRun}. */
export interface RecordedRunSpec {
  /** Cache root of the stages (e.g. `results/canonical/.cache`). */
  cacheRoot: string;
  /** Published run directory, `<results>/<run-id>`. */
  publishDir: string;
  /** Stage name of the cached run (e.g. `run-ppo`). */
  stage: string;
  /** The run's config: its cache key, with `inputs`. */
  config: unknown;
  /** Upstream stage keys. */
  inputs: StageInputs;
  /** Written as config.json (the run's config and whatever the reader needs beside it). */
  configFile: unknown;
  /** The run's seed, for the manifest. */
  seed: number | null;
  /** The active backend, for the manifest. */
  backend: () => Promise<BackendInfo>;
  /** Save the policy every this many steps while training (0: never). */
  checkpointEvery: number;
  /** Train and evaluate; throw to fail the run. */
  run: (ctx: RunContext) => Promise<RunOutput>;
  /** Progress messages (waiting for locks, failures and where they are recorded). */
  log?: (m: string) => void;
}

/**
 * Run (or reuse) one method run as a cached stage and publish its files to
 * `publishDir`; a failed run is published as a failure record and the error rethrown.
 * @returns the stage (its `cached` says whether it was reused).
 */
export async function recordRun(spec: RecordedRunSpec): Promise<StageResult> {
  const res = await runStage({
    root: spec.cacheRoot,
    name: spec.stage,
    config: spec.config,
    inputs: spec.inputs,
    log: spec.log,
    run: async (dir) => {
      const started = new Date();
      const backend = await spec.backend();
      const configHash = await hashKey(spec.config);
      await writeJson(join(dir, "config.json"), spec.configFile);
      const ctx: RunContext = {
        dir,
        rows: [],
        checkpoints: new CheckpointKeeper(dir, spec.checkpointEvery),
      };
      const manifest = (status: Manifest["status"], error?: unknown) =>
        buildManifest({
          backend,
          seed: spec.seed,
          configHash,
          startedAt: started,
          status,
          error,
          ...(ctx.checkpoints.keptStep !== undefined
            ? { checkpoint: { file: POLICY_CHECKPOINT, step: ctx.checkpoints.keptStep } }
            : {}),
        });
      try {
        const out = await spec.run(ctx);
        await writeRunMetrics(dir, out.rows);
        await writeCsvTable(aq.from([out.summary]), join(dir, "summary.csv"));
        await ctx.checkpoints.discard();
        await writeTextAtomic(
          join(dir, "samples.jsonl"),
          out.samples.map((s) => JSON.stringify(s)).join("\n") + "\n",
        );
        await writeManifest(join(dir, "manifest.json"), await manifest("ok"));
      } catch (e) {
        // Publish the failure record (config, rows so far, last good checkpoint, manifest
        // with the error), then fail the stage, which discards its partial dir. Good
        // results of the same id are never replaced by it.
        try {
          await writeRunMetrics(dir, ctx.rows);
          await Deno.remove(join(dir, "summary.csv")).catch(() => {});
          await Deno.remove(join(dir, "samples.jsonl")).catch(() => {});
          await writeManifest(join(dir, "manifest.json"), await manifest("failed", e));
          const good = await publishedStatus(spec.publishDir) === "ok";
          const target = good ? join(spec.publishDir, FAILURE_DIR) : spec.publishDir;
          await publishRun(dir, target);
          if (good) {
            spec.log?.(
              `${basename(spec.publishDir)} failed again; its published results are kept ` +
                `and the failure is recorded in ${target}`,
            );
          }
        } catch (pe) {
          spec.log?.(
            `could not record the failure of ${spec.publishDir}: ${(pe as Error).message}`,
          );
        }
        throw e;
      }
    },
  });
  await publishRun(res.dir, spec.publishDir, { verify: true });
  await Deno.remove(join(spec.publishDir, FAILURE_DIR), { recursive: true }).catch(() => {});
  return res;
}

/** The status in a published run's manifest.json, if it has a readable one. */
async function publishedStatus(dir: string): Promise<Manifest["status"] | undefined> {
  try {
    return (JSON.parse(await Deno.readTextFile(join(dir, "manifest.json"))) as Manifest).status;
  } catch {
    return undefined;
  }
}

/** Options of {@link publishRun}. */
export interface PublishOptions {
  /**
   * `from` is a finished stage: check each file against the SHA-256 its DONE recorded
   * before anything is published (default false: a failure record, which has no DONE).
   */
  verify?: boolean;
}

/**
 * Copy a run's files ({@link RUN_FILES} present in `from`) to its published directory `to`,
 * and remove the known files `from` lacks (left by an older record). manifest.json is
 * removed first and written last, so `to` holds a manifest only when every file beside it
 * belongs to it; every file is written atomically, the directory never disappears, and
 * two processes publishing the same run take turns (a lock beside `to`).
 * @throws FileFormatError, before touching `to`, when `verify` and a file of `from` does
 *   not match its checksum; ResourceError when the disk is full or read-only (then `to`
 *   has no manifest.json: not published).
 */
export async function publishRun(
  from: string,
  to: string,
  opts: PublishOptions = {},
): Promise<void> {
  const lock = join(dirname(to), `.${basename(to)}.publish.lock`);
  await withLock(lock, async () => {
    const sums = opts.verify ? await readStageChecksums(from) : undefined;
    const files = new Map<string, Uint8Array | undefined>();
    for (const f of RUN_FILES) {
      let bytes: Uint8Array | undefined;
      try {
        bytes = await Deno.readFile(join(from, f));
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      if (bytes && sums && sums[f] !== await sha256Hex(bytes)) {
        throw new FileFormatError(
          `${join(from, f)} does not match the SHA-256 its stage recorded; ${to} was not ` +
            `published (run the sweep again: the stage is discarded and recomputed)`,
        );
      }
      files.set(f, bytes);
    }
    if (!files.get("manifest.json")) {
      throw new KitError(`${from} has no manifest.json: it is not a finished run record`);
    }
    if (await samePublished(to, files)) return; // a cached run republished: nothing changes
    await Deno.mkdir(to, { recursive: true });
    // Uncommit: until the new manifest is written, readers take `to` as unfinished.
    await Deno.remove(join(to, "manifest.json")).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    for (const [f, bytes] of files) {
      if (f === "manifest.json") continue;
      if (bytes) await writeBytesAtomic(join(to, f), bytes);
      else await Deno.remove(join(to, f)).catch(() => {});
    }
    await writeBytesAtomic(join(to, "manifest.json"), files.get("manifest.json")!);
  }, { purpose: `publish ${basename(to)}` });
}

/** Whether `to` already holds exactly these files (and none of the known others). */
async function samePublished(
  to: string,
  files: ReadonlyMap<string, Uint8Array | undefined>,
): Promise<boolean> {
  for (const [f, bytes] of files) {
    const old = await Deno.readFile(join(to, f)).catch(() => undefined);
    if (!bytes || !old) {
      if (bytes || old) return false;
      continue;
    }
    if (old.length !== bytes.length || old.some((b, i) => b !== bytes[i])) return false;
  }
  return true;
}

/** Step metrics to metrics.csv and their wall-clock columns (`perf/*`) to timings.csv. */
async function writeRunMetrics(dir: string, rows: readonly MetricRow[]): Promise<void> {
  const metrics: MetricRow[] = [];
  const timings: MetricRow[] = [];
  for (const row of rows) {
    const m: MetricRow = { step: row.step };
    const t: MetricRow = { step: row.step };
    for (const [k, v] of Object.entries(row)) (k.startsWith("perf/") ? t : m)[k] = v;
    metrics.push(m);
    if (Object.keys(t).length > 1) timings.push(t);
  }
  await writeMetricRows(join(dir, "metrics.csv"), metrics.length ? metrics : [{ step: 0 }]);
  if (timings.length) await writeMetricRows(join(dir, "timings.csv"), timings);
  else await Deno.remove(join(dir, "timings.csv")).catch(() => {});
}

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

/**
 * Read a run's published summary row.
 * @throws FileFormatError naming the directory when it is not a finished run (missing,
 *   failed, not committed by a manifest, or its summary.csv is corrupt).
 */
export async function readRunSummary(dir: string): Promise<Record<string, unknown>> {
  if (!(await Deno.stat(dir).then((s) => s.isDirectory, () => false))) {
    throw new FileFormatError(`run directory ${dir} does not exist`);
  }
  const failure = await readFailure(dir);
  if (failure) {
    throw new FileFormatError(`run ${dir} failed (${failure.message}); it has no summary`);
  }
  const row = (await readCsvTable(join(dir, "summary.csv"))).objects()[0];
  if (!row) throw new FileFormatError(`${join(dir, "summary.csv")} has no rows`);
  if (await publishedStatus(dir) !== "ok") {
    throw new FileFormatError(
      `run ${dir} is not a finished run: it has no valid manifest.json (interrupted while ` +
        `it was being published?)`,
    );
  }
  return row as Record<string, unknown>;
}
