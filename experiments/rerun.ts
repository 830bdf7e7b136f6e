/**
 * `deno task rerun <run dir> [--reuse-upstream] [--keep]`: check that a published run
 * reproduces. Reads the run's `config.json` (the whole resolved experiment config and the
 * run spec), runs it again in a fresh temporary results directory, and compares the new
 * `summary.csv` and `metrics.csv` with the old ones byte for byte.
 *
 * By default the upstream stages (data, base LM, SFT, preferences, reward model) are
 * recomputed there too, so the check covers the whole chain that produced the run; this
 * costs the upstream time again. `--reuse-upstream` reads them from the original
 * experiment's cache (`<run dir>/../.cache`) instead and checks only the run itself.
 * The backend is the one the original manifest records unless `RLHF_BACKEND` says
 * otherwise; bit-identical results are only promised on the same backend and versions,
 * and differences in those are printed as notes.
 *
 * Exit codes: 0 and `summary matches` (and `metrics match`); 1 with the differing columns;
 * 2 for a bad argument or an unreadable run directory.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { type BackendName, initBackend, parseBackendName } from "../lib/backend/mod.ts";
import type { Manifest } from "../lib/sweep/manifest.ts";
import { readCsvTable } from "../lib/sweep/results_table.ts";
import { ConfigError, FileFormatError, show } from "../lib/util/errors.ts";
import { readJson } from "../lib/sweep/json_file.ts";
import { checkUserPath } from "../lib/sweep/paths.ts";
import { type CanonicalConfig, type Method, METHODS } from "./canonical/config.ts";
import { CANONICAL_DEFAULTS } from "./canonical/config_defaults.ts";
import { resolveCanonical } from "./canonical/config_rules.ts";
import { type PlannedRun, planRun } from "./canonical/plan.ts";
import { executeRun } from "./canonical/run.ts";
import { runUpstream } from "./canonical/stages/upstream.ts";
import { runCli } from "./cli.ts";

const USAGE = "usage: deno task rerun <run dir> [--reuse-upstream] [--keep]";

/** Files compared between the original run and the rerun; the first decides the headline. */
export const COMPARED_FILES = ["summary.csv", "metrics.csv"] as const;

/** What {@link rerun} found. */
export interface RerunResult {
  /** Per compared file: the differences (empty when byte-identical). */
  diffs: Record<(typeof COMPARED_FILES)[number], string[]>;
  /** Differences in backend and versions between the two manifests (informational). */
  notes: string[];
  /** The temporary results directory of the rerun (removed unless `keep`). */
  dir: string;
}

/** Options of {@link rerun}. */
export interface RerunOptions {
  /** Read upstream stages from the original experiment's cache instead of recomputing. */
  reuseUpstream?: boolean;
  /** Keep the temporary results directory. */
  keep?: boolean;
  log?: (m: string) => void;
}

/**
 * Re-execute the run published in `runDir` and compare its tables with the originals.
 * @throws FileFormatError when `runDir` is not a finished run (missing, no config.json or
 *   summary.csv, corrupt files); ConfigError when its config.json is not a valid config.
 */
export async function rerun(runDir: string, opts: RerunOptions = {}): Promise<RerunResult> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const dir = runDir.replace(/\/+$/, "");
  const { run, experiment } = await readRunDir(dir);
  const original = await readJson<Partial<Manifest>>(join(dir, "manifest.json"))
    .catch(() => undefined);
  const requested: BackendName = Deno.env.get("RLHF_BACKEND")
    ? parseBackendName(Deno.env.get("RLHF_BACKEND")!)
    : original?.backend
    ? parseBackendName(original.backend)
    : "auto";
  const backend = await initBackend(requested);
  log(`rerun of ${run.id} on ${backend.backend} (${backend.device})`);

  const tmp = await Deno.makeTempDir({ prefix: "rlhf-rerun-" });
  try {
    const cache = join(tmp, experiment, ".cache");
    const upstream = await runUpstream(
      opts.reuseUpstream ? join(dirname(dir), ".cache") : cache,
      run.config,
      log,
    );
    await executeRun(cache, join(tmp, experiment), run, upstream, log);
    const fresh = join(tmp, experiment, run.id);
    const diffs = {} as RerunResult["diffs"];
    for (const f of COMPARED_FILES) diffs[f] = await diffCsv(join(dir, f), join(fresh, f));
    const now = await readJson<Partial<Manifest>>(join(fresh, "manifest.json"));
    return { diffs, notes: manifestNotes(original, now), dir: tmp };
  } finally {
    if (!opts.keep) await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/** Run ids are file names: letters, digits and `_ . + = -`, never a path. */
const RUN_ID = /^[A-Za-z0-9_][A-Za-z0-9_.+=-]*$/;

/** The planned run of a published run directory, rebuilt from its config.json. */
async function readRunDir(dir: string): Promise<{ run: PlannedRun; experiment: string }> {
  const stat = await Deno.stat(dir).catch(() => undefined);
  if (!stat) throw new FileFormatError(`run directory ${dir} does not exist`);
  if (!stat.isDirectory) throw new FileFormatError(`${dir} is not a run directory`);
  const path = join(dir, "config.json");
  const saved = await readJson<{
    run?: { id?: unknown; method?: unknown; labels?: Record<string, unknown> };
    experimentConfig?: unknown;
  }>(path);
  if (typeof saved !== "object" || saved === null || !saved.run || !saved.experimentConfig) {
    throw new FileFormatError(
      `${path} is not a run config: it needs "run" and "experimentConfig" (written by a sweep)`,
    );
  }
  const { id, method, labels } = saved.run;
  if (typeof id !== "string" || !RUN_ID.test(id) || id.includes("..")) {
    throw new FileFormatError(`${path}: run.id ${show(id)} is not a run id`);
  }
  if (!(METHODS as readonly unknown[]).includes(method)) {
    throw new FileFormatError(
      `${path}: run.method ${show(method)} is not one of ${METHODS.join(", ")}`,
    );
  }
  let config: CanonicalConfig;
  try {
    config = resolveCanonical(CANONICAL_DEFAULTS, saved.experimentConfig);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${path}: ${e.message}`);
    throw e;
  }
  let run: PlannedRun;
  try {
    run = await planRun(method as Method, config, { id, ...(labels ? { labels } : {}) });
  } catch (e) {
    if (e instanceof ConfigError) throw new FileFormatError(`${path}: ${e.message}`);
    throw e;
  }
  for (const f of COMPARED_FILES) {
    if (!(await Deno.stat(join(dir, f)).then((s) => s.isFile, () => false))) {
      throw new FileFormatError(
        `${join(dir, f)} does not exist: ${basename(dir)} did not finish (see its manifest.json)`,
      );
    }
  }
  return { run, experiment: basename(resolve(dirname(dir))) };
}

/**
 * Compare two CSV tables: nothing when byte-identical, else one line per differing column
 * (`reward_gold: row 1: 0.1873 → 0.1874`), per column present in one file only, and for a
 * different number of rows.
 * @throws FileFormatError when either file is missing or corrupt.
 */
export async function diffCsv(oldPath: string, newPath: string): Promise<string[]> {
  const [a, b] = await Promise.all([Deno.readFile(oldPath), Deno.readFile(newPath)]);
  if (a.length === b.length && a.every((x, i) => x === b[i])) return [];
  const [ta, tb] = await Promise.all([readCsvTable(oldPath), readCsvTable(newPath)]);
  const out: string[] = [];
  if (ta.numRows() !== tb.numRows()) out.push(`rows: ${ta.numRows()} → ${tb.numRows()}`);
  const colsA = ta.columnNames(), colsB = tb.columnNames();
  for (const c of colsA) if (!colsB.includes(c)) out.push(`${c}: only in the original`);
  for (const c of colsB) if (!colsA.includes(c)) out.push(`${c}: only in the rerun`);
  for (const c of colsA.filter((c) => colsB.includes(c))) {
    const va = ta.array(c) as unknown[], vb = tb.array(c) as unknown[];
    for (let i = 0; i < Math.min(va.length, vb.length); i++) {
      if (String(va[i]) !== String(vb[i])) {
        out.push(`${c}: row ${i + 1}: ${String(va[i])} → ${String(vb[i])}`);
        break;
      }
    }
  }
  if (!out.length) out.push("the files differ in formatting only");
  return out;
}

/** Backend and version differences between the original's manifest and the rerun's. */
function manifestNotes(a: Partial<Manifest> | undefined, b: Partial<Manifest>): string[] {
  if (!a) return ["the original run has no readable manifest.json to compare versions with"];
  const notes: string[] = [];
  for (const k of ["backend", "device", "deno", "tfjs"] as const) {
    if (a[k] !== b[k]) notes.push(`${k}: ${show(a[k])} originally, ${show(b[k])} now`);
  }
  if (a.kit?.commit !== b.kit?.commit) {
    notes.push(`kit commit: ${show(a.kit?.commit)} originally, ${show(b.kit?.commit)} now`);
  }
  return notes;
}

/** Parse the command line: one run directory and optional flags. */
function parseArgs(args: readonly string[]): { dir: string; opts: RerunOptions } | undefined {
  if (args.includes("--help") || args.includes("-h")) return undefined;
  const opts: RerunOptions = {};
  const dirs: string[] = [];
  for (const a of args) {
    if (a === "--reuse-upstream") opts.reuseUpstream = true;
    else if (a === "--keep") opts.keep = true;
    else if (a.startsWith("-")) throw new ConfigError(`unknown option ${show(a)}; ${USAGE}`);
    else dirs.push(a);
  }
  if (dirs.length !== 1) {
    throw new ConfigError(
      `${
        dirs.length ? `${dirs.length} run directories given` : "no run directory given"
      }; ${USAGE}`,
    );
  }
  return { dir: checkUserPath(dirs[0]!, "deno task rerun"), opts };
}

if (import.meta.main) {
  await runCli(async () => {
    const parsed = parseArgs(Deno.args);
    if (!parsed) {
      console.log(USAGE);
      return 0;
    }
    const { dir, opts } = parsed;
    const res = await rerun(dir, opts);
    for (const n of res.notes) console.log(`note: ${n}`);
    if (opts.keep) console.log(`rerun kept in ${res.dir}`);
    let ok = true;
    for (const f of COMPARED_FILES) {
      const what = f === "summary.csv" ? "summary" : "metrics";
      const verb = f === "summary.csv" ? "matches" : "match";
      if (!res.diffs[f].length) {
        console.log(`${what} ${verb}`);
        continue;
      }
      ok = false;
      console.log(`${f} differs:`);
      for (const d of res.diffs[f]) console.log(`  ${d}`);
    }
    return ok ? 0 : 1;
  });
}
