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

/** Permission flags given to child runs unless `permissions` says otherwise. */
export const DEFAULT_PERMISSIONS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
  "--allow-ffi", // the tensorflow backend is a native addon
];

/** Options of {@link spawnDeno}. */
export interface SpawnOptions {
  /** Working directory of the child (default: ours). */
  cwd?: string;
  /** Extra environment variables (added to ours). */
  env?: Record<string, string>;
  /** Flags placed between `run` and the script (default {@link DEFAULT_PERMISSIONS}). */
  permissions?: readonly string[];
  /** Printed before each output line, as `[prefix] line` (default: none). */
  prefix?: string;
  /** Also append the child's output (unprefixed) to this file. */
  logFile?: string;
  /** Do not echo output to our stdout/stderr (it still goes to `logFile`). */
  quiet?: boolean;
  /** Kill the child when aborted. */
  signal?: AbortSignal;
}

/**
 * Run `deno run <permissions> ...args` with this process's Deno binary, streaming the
 * child's stdout and stderr line by line (prefixed) to ours.
 * @param args script path and its arguments, e.g. `["experiments/bandit.ts", "--seed", "1"]`.
 * @returns the child's exit code (0 on success).
 */
export async function spawnDeno(args: readonly string[], opts: SpawnOptions = {}): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...(opts.permissions ?? DEFAULT_PERMISSIONS), ...args],
    cwd: opts.cwd,
    env: opts.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: opts.signal,
  }).spawn();
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
