/**
 * Helpers for tests that run `tiny` sweeps as separate processes, the way `deno task sweep`
 * does (its command line and permissions come from deno.json, see `_subprocess.ts`), and
 * inspect what they leave on disk.
 *
 * @module
 */
import { join } from "node:path";
import { readCsvTable } from "../lib/sweep/results_table.ts";
import { readCheckpoint } from "../lib/models/checkpoint.ts";
import { parseSweep } from "../experiments/sweep.ts";
import {
  type ProcessOutput,
  ROOT,
  runDeno,
  type RunOptions,
  subprocessEnv,
  taskCommand,
} from "./_subprocess.ts";

/** Arguments of `deno` for a tiny canonical sweep into `results`, as `deno task sweep`. */
export function sweepArgs(results: string, extra: readonly string[] = []): string[] {
  return taskCommand("sweep", ["canonical", "--preset", "tiny", "--results", results, ...extra]);
}

/**
 * The ids a tiny sweep with `extra` gives its runs (planned in this process, as the sweep
 * plans them), by `<method> <β or n>`: e.g. `{"dpo 0.1": "dpo__beta0.1__seed1__3fa29c1e"}`.
 */
export async function tinyRunIds(extra: readonly string[] = []): Promise<Record<string, string>> {
  const req = await parseSweep(["canonical", "--preset", "tiny", ...extra]);
  if (!req) throw new Error(`no plan for ${extra.join(" ")}`);
  return Object.fromEntries(
    req.plan.runs.map((r) => [`${r.method} ${r.labels.beta ?? r.labels.n}`, r.id]),
  );
}

/** Run a tiny canonical sweep into `results` to the end and collect its output. */
export function runSweep(
  results: string,
  extra: readonly string[] = [],
  options: RunOptions = {},
): Promise<ProcessOutput> {
  return runDeno(sweepArgs(results, extra), options);
}

/** A running sweep whose output is collected as it comes. */
export interface RunningSweep {
  child: Deno.ChildProcess;
  /** Everything printed to stderr so far. */
  stderr: () => string;
  /**
   * The whole lines printed so far on stdout (progress bars, tables) and stderr (stage and
   * run messages), in the order they arrived.
   */
  lines: () => readonly string[];
  /** Resolves with the exit status once the process ended and its output was read. */
  done: Promise<Deno.CommandStatus>;
}

/** Start a tiny sweep into `results` as a subprocess. */
export function spawnSweep(results: string, extra: readonly string[] = []): RunningSweep {
  const child = new Deno.Command(Deno.execPath(), {
    args: sweepArgs(results, extra),
    cwd: ROOT,
    env: subprocessEnv(),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const lines: string[] = [];
  const read = async (stream: ReadableStream<Uint8Array>, onText: (t: string) => void) => {
    let partial = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      onText(chunk);
      const parts = (partial + chunk).split("\n");
      partial = parts.pop()!;
      lines.push(...parts);
    }
    if (partial) lines.push(partial);
  };
  const reading = Promise.all([
    read(child.stdout, () => {}),
    read(child.stderr, (t) => stderr += t),
  ]);
  const done = Promise.all([child.status, reading]).then(([s]) => s);
  return { child, stderr: () => stderr, lines: () => lines, done };
}

/**
 * Every file under a final name in `root` (an experiment's results directory) is complete:
 * tables parse with the strict CSV reader, JSON and JSONL parse, checkpoints pass their
 * checksum, HTML ends with `</html>`, and every committed stage directory has its DONE.
 * Temp files, lock files and `.partial-*` directories (dot names) are not final names and
 * are skipped. Returns the problems found (empty when all is well).
 */
export async function incompleteFiles(root: string): Promise<string[]> {
  const problems: string[] = [];
  const visit = async (dir: string, inCache: number) => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.name.startsWith(".") && e.name !== ".cache") continue;
      if (e.isDirectory) {
        // .cache/<stage>/<key>: a committed stage must be whole
        if (inCache === 2 && !(await isFile(join(path, "DONE")))) {
          problems.push(`${path}: a stage directory without DONE`);
        }
        await visit(path, e.name === ".cache" ? 1 : inCache > 0 ? inCache + 1 : 0);
        continue;
      }
      try {
        await checkFile(path);
      } catch (err) {
        problems.push(`${path}: ${(err as Error).message}`);
      }
    }
  };
  await visit(root, 0);
  return problems;
}

async function checkFile(path: string): Promise<void> {
  const name = path.split("/").pop()!;
  if (name.endsWith(".csv")) await readCsvTable(path);
  else if (name.endsWith(".json") || name === "DONE") JSON.parse(await Deno.readTextFile(path));
  else if (name.endsWith(".jsonl")) {
    const text = await Deno.readTextFile(path);
    if (!text.endsWith("\n")) throw new Error("does not end with a newline");
    for (const line of text.split("\n").filter(Boolean)) JSON.parse(line);
  } else if (name.endsWith(".ckpt")) await readCheckpoint(path);
  else if (name.endsWith(".html")) {
    if (!(await Deno.readTextFile(path)).trimEnd().endsWith("</html>")) {
      throw new Error("HTML cut short");
    }
  } else if (name.endsWith(".png")) {
    const b = await Deno.readFile(path);
    const iend = new TextDecoder("latin1").decode(b.subarray(b.length - 8, b.length - 4));
    if (b[1] !== 0x50 || iend !== "IEND") throw new Error("PNG cut short");
  }
}

async function isFile(path: string): Promise<boolean> {
  return await Deno.stat(path).then((s) => s.isFile, () => false);
}

/**
 * The files that differ between two experiment results directories: the experiment's
 * summary tables and, per run, metrics.csv, summary.csv and samples.jsonl. Both must list
 * the same runs. Returns relative paths (empty when byte-identical).
 */
export async function differingResults(a: string, b: string): Promise<string[]> {
  const ids = (await readCsvTable(join(a, "summary.csv"))).array("run_id") as string[];
  const files = [
    "summary.csv",
    "summary_by_method.csv",
    ...ids.flatMap((id) => ["metrics.csv", "summary.csv", "samples.jsonl"].map((f) => join(id, f))),
  ];
  const out: string[] = [];
  for (const f of files) {
    const [x, y] = await Promise.all([
      Deno.readFile(join(a, f)).catch(() => undefined),
      Deno.readFile(join(b, f)).catch(() => undefined),
    ]);
    if (!x || !y || x.length !== y.length || x.some((v, i) => v !== y[i])) out.push(f);
  }
  return out;
}
