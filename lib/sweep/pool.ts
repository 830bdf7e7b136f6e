/**
 * Running a sweep's independent runs in parallel.
 *
 * Each run is its own `deno run` process ({@link spawnDeno}): tfjs keeps global state
 * (backend, memory), a crash or OOM in one run cannot take the others down, and every
 * core is used. {@link runPool} keeps at most `jobs` tasks in flight, records failures and
 * carries on with the rest, so one bad grid point does not cost the whole sweep.
 *
 * @module
 */
import { ConfigError, show } from "../util/errors.ts";
import { registerChild } from "../util/children.ts";
import {
  denoBinary,
  KIT_ENV_VARS,
  KIT_PROGRAMS,
  KIT_SYS_KINDS,
  narrowPermissions,
} from "./permissions.ts";

/** A task that threw, with what it threw. */
export interface PoolFailure<T> {
  /** The task. */
  task: T;
  /** Its error (non-Error throws are wrapped). */
  error: Error;
}

/** What {@link runPool} returns: every task is in exactly one list, each in task order. */
export interface PoolReport<T> {
  /** Tasks whose `run` resolved. */
  ok: T[];
  /** Tasks whose `run` threw (or were never started because `signal` aborted). */
  failed: PoolFailure<T>[];
}

/** Options of {@link runPool}. */
export interface PoolOptions<T> {
  /** Most tasks in flight at once (default: {@link defaultJobs}). */
  jobs?: number;
  /** Do one task; throw to mark it failed. */
  run: (task: T, index: number) => Promise<void>;
  /** Called as each task settles, e.g. for a progress line. */
  onSettled?: (task: T, index: number, error?: Error) => void;
  /** When aborted, tasks not yet started are marked failed instead of started. */
  signal?: AbortSignal;
}

/** Default parallelism: the number of logical cores. */
export function defaultJobs(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/**
 * `--jobs` limited to the machine: more worker processes than logical cores only make
 * them compete (each run is CPU-bound), so a larger request is clamped, with a one-line
 * notice to print.
 * @param requested the `--jobs` value (a positive integer).
 * @param cores logical cores (default {@link defaultJobs}).
 * @example
 * ```ts
 * import { clampJobs } from "./pool.ts";
 * const { jobs, notice } = clampJobs(1000, 4);
 * if (jobs !== 4 || !notice) throw new Error();
 * ```
 */
export function clampJobs(
  requested: number,
  cores: number = defaultJobs(),
): { jobs: number; notice?: string } {
  if (requested <= cores) return { jobs: requested };
  return {
    jobs: cores,
    notice: `--jobs ${requested} is more than the ${cores} logical cores of this machine; ` +
      `running ${cores} at a time`,
  };
}

/**
 * Run `tasks` with at most `jobs` concurrent, in order of start.
 * @returns which tasks succeeded and which failed (never rejects because a task failed).
 * @throws ConfigError when `jobs` is not a positive integer.
 * @example
 * ```ts
 * import { runPool } from "./pool.ts";
 * const r = await runPool([1, 2, 3], { jobs: 2, run: async (t) => { if (t === 2) throw new Error("no"); } });
 * if (r.ok.length !== 2 || r.failed[0]?.task !== 2) throw new Error();
 * ```
 */
export async function runPool<T>(
  tasks: readonly T[],
  opts: PoolOptions<T>,
): Promise<PoolReport<T>> {
  const jobs = opts.jobs ?? defaultJobs();
  if (!Number.isInteger(jobs) || jobs < 1) {
    throw new ConfigError(`jobs must be a positive integer, got ${show(jobs)}`);
  }
  const outcome: (Error | null | undefined)[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      const task = tasks[i]!;
      if (opts.signal?.aborted) {
        outcome[i] = new Error("not started: the sweep was cancelled");
        continue;
      }
      try {
        await opts.run(task, i);
        outcome[i] = null;
      } catch (e) {
        outcome[i] = e instanceof Error ? e : new Error(String(e));
      }
      opts.onSettled?.(task, i, outcome[i] ?? undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, worker));
  const report: PoolReport<T> = { ok: [], failed: [] };
  tasks.forEach((task, i) => {
    const e = outcome[i];
    if (e) report.failed.push({ task, error: e });
    else report.ok.push(task);
  });
  return report;
}

/**
 * Permission flags given to child runs unless `permissions` says otherwise: what the kit
 * reads and runs (permissions.ts). Like any request, narrowed at spawn to what this
 * process holds.
 */
export const DEFAULT_PERMISSIONS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  `--allow-env=${KIT_ENV_VARS.join(",")}`,
  `--allow-sys=${KIT_SYS_KINDS.join(",")}`,
  `--allow-run=${KIT_PROGRAMS.join(",")}`,
];

/** Options of {@link spawnDeno}. */
export interface SpawnOptions {
  /** Working directory of the child (default: ours). */
  cwd?: string;
  /** Extra environment variables (added to ours). */
  env?: Record<string, string>;
  /**
   * Flags placed between `run` and the script (default {@link DEFAULT_PERMISSIONS}). Each
   * `--allow-*` flag is narrowed to the scopes this process holds: a child never gets a
   * permission its parent lacks.
   */
  permissions?: readonly string[];
  /** Printed before each output line, as `[prefix] line` (default: none). */
  prefix?: string;
  /** Also append the child's output (unprefixed) to this file. */
  logFile?: string;
  /** Do not echo output to our stdout/stderr (it still goes to `logFile`). */
  quiet?: boolean;
  /** Kill the child when aborted. */
  signal?: AbortSignal;
  /** Where the notice about permissions left out goes (default: stderr). */
  log?: (message: string) => void;
}

/** Notices already printed, so each is said once per process. */
const said = new Set<string>();

/**
 * Run `deno run <permissions> ...args` with this process's Deno binary, streaming the
 * child's stdout and stderr line by line (prefixed) to ours. The child is registered for
 * stopping (lib/util/children.ts): Ctrl-C or SIGTERM of this process stops it too.
 * @param args script path and its arguments, e.g. `["experiments/bandit.ts", "--seed", "1"]`.
 * @returns the child's exit code (0 on success).
 */
export async function spawnDeno(args: readonly string[], opts: SpawnOptions = {}): Promise<number> {
  const { args: flags, dropped } = narrowPermissions(opts.permissions ?? DEFAULT_PERMISSIONS);
  const notice = dropped.length
    ? `not passing ${dropped.join(" ")} to child processes: this process does not hold it`
    : "";
  if (notice && !said.has(notice)) {
    said.add(notice);
    (opts.log ?? ((m: string) => console.error(m)))(notice);
  }
  const child = new Deno.Command(denoBinary(), {
    args: ["run", ...flags, ...args],
    cwd: opts.cwd,
    env: opts.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: opts.signal,
  }).spawn();
  const unregister = registerChild(child, opts.prefix ?? "deno");
  const log = opts.logFile
    ? await Deno.open(opts.logFile, { append: true, create: true })
    : undefined;
  try {
    const [status] = await Promise.all([
      child.status,
      pump(child.stdout, opts.quiet ? undefined : Deno.stdout, opts.prefix, log),
      pump(child.stderr, opts.quiet ? undefined : Deno.stderr, opts.prefix, log),
    ]);
    return status.code;
  } finally {
    unregister();
    log?.close();
  }
}

/** Copy a stream to `out` whole lines at a time, so parallel children do not interleave. */
async function pump(
  stream: ReadableStream<Uint8Array>,
  out: { write(p: Uint8Array): Promise<number> } | undefined,
  prefix: string | undefined,
  log: Deno.FsFile | undefined,
): Promise<void> {
  const enc = new TextEncoder();
  let pending = "";
  const emit = async (text: string) => {
    if (log) await writeAll(log, enc.encode(text));
    if (!out) return;
    await writeAll(out, enc.encode(prefix ? prefixLines(text, prefix) : text));
  };
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const cut = pending.lastIndexOf("\n");
    if (cut < 0) continue;
    await emit(pending.slice(0, cut + 1));
    pending = pending.slice(cut + 1);
  }
  if (pending) await emit(pending + "\n");
}

/** `[prefix] ` before every non-empty line of `text`. */
export function prefixLines(text: string, prefix: string): string {
  return text.replace(/^(?=.)/gm, `[${prefix}] `);
}

async function writeAll(
  w: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  let n = 0;
  while (n < bytes.length) n += await w.write(bytes.subarray(n));
}
