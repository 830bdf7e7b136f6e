/**
 * Stop what the kit started when the process is told to stop: one process-wide registry
 * of child processes (sweep workers, a headless Chromium) and of cleanups (temp
 * directories), so Ctrl-C (SIGINT), SIGTERM (a Slurm or Kubernetes cancel) or SIGHUP never
 * leave a child running or a temp directory behind.
 *
 * While anything is registered, this module listens for those signals. On the first one
 * it sends SIGTERM to every registered child, waits up to {@link STOP_GRACE_MS} for them
 * to exit (then SIGKILL), runs every cleanup, prints one line, and exits with 128 + the
 * signal's number (130 for Ctrl-C), as a shell would report it. When the registry is empty
 * again the listeners are removed and the default behaviour returns. Cleanups also run
 * when the process exits normally (the `unload` event), so they must be synchronous.
 *
 * What a signal cannot cover (`kill -9`, a power cut) is swept at the next start
 * (lib/sweep/temp_files.ts).
 *
 * @example
 * ```ts
 * import { onStop, registerChild, registeredChildren } from "./children.ts";
 * let cleaned = false;
 * const forget = onStop(() => (cleaned = true)); // e.g. remove a temp directory
 * // a child process (here a stand-in; a `Deno.ChildProcess` fits)
 * const child = { pid: 12345, kill: () => {}, status: Promise.resolve() };
 * const unregister = registerChild(child, "example");
 * if (registeredChildren()[0] !== "example") throw new Error();
 * await child.status;
 * unregister();
 * forget(); // or leave it registered: it runs at exit
 * if (cleaned) throw new Error("only at a stop signal or exit");
 * ```
 *
 * @module
 */

/** What the registry needs of a child: its pid, a way to signal it, and its exit. */
export interface StoppableChild {
  /** The child's process id. */
  readonly pid: number;
  /** Send it a signal. */
  kill(signal?: Deno.Signal): void;
  /** Resolves when it has exited. */
  readonly status: Promise<unknown>;
}

/** How long stopped children get to exit after SIGTERM before SIGKILL, ms. */
export const STOP_GRACE_MS = 3_000;

const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
type StopSignal = keyof typeof SIGNALS;

const children = new Map<number, { child: StoppableChild; label: string }>();
const cleanups = new Set<() => void>();
let handlers: [StopSignal, () => void][] | undefined;
let unloadInstalled = false;
let stopping = false;

/**
 * Register a running child so a stop signal stops it too.
 * @param child e.g. a `Deno.ChildProcess`.
 * @param label what it is, for the stop message (e.g. `worker ppo__beta0.1`).
 * @returns unregister: call it once the child has exited.
 */
export function registerChild(child: StoppableChild, label = "child"): () => void {
  children.set(child.pid, { child, label });
  sync();
  return () => {
    children.delete(child.pid);
    sync();
  };
}

/**
 * Run `cleanup` (synchronous, e.g. `Deno.removeSync` of a temp directory) when the process
 * is stopped by a signal or exits; errors it throws are ignored.
 * @returns forget: unregister it (call after cleaning up normally).
 */
export function onStop(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  sync();
  return () => {
    cleanups.delete(cleanup);
    sync();
  };
}

/** The registered children's labels, oldest first (for tests and messages). */
export function registeredChildren(): string[] {
  return [...children.values()].map((c) => c.label);
}

/**
 * Stop every registered child (SIGTERM, then SIGKILL after `graceMs`) and run every
 * cleanup. The registry is empty afterwards.
 * @returns the labels of the children that were stopped.
 */
export async function stopAll(graceMs = STOP_GRACE_MS): Promise<string[]> {
  const entries = [...children.values()];
  children.clear();
  for (const { child } of entries) signal(child, "SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), graceMs));
  const exited = await Promise.race([
    Promise.allSettled(entries.map((e) => e.child.status)).then(() => "exited" as const),
    timeout,
  ]);
  clearTimeout(timer);
  if (exited === "timeout") { for (const { child } of entries) signal(child, "SIGKILL"); }
  runCleanups();
  sync();
  return entries.map((e) => e.label);
}

function signal(child: StoppableChild, sig: Deno.Signal): void {
  try {
    child.kill(sig);
  } catch {
    // already exited
  }
}

function runCleanups(): void {
  for (const c of [...cleanups]) {
    cleanups.delete(c);
    try {
      c();
    } catch {
      // best effort: what is left is swept at the next start
    }
  }
}

/** Listen for stop signals exactly while something is registered. */
function sync(): void {
  const wanted = children.size > 0 || cleanups.size > 0;
  if (wanted && !unloadInstalled) {
    unloadInstalled = true;
    globalThis.addEventListener("unload", () => {
      for (const { child } of children.values()) signal(child, "SIGTERM");
      runCleanups();
    });
  }
  if (wanted && !handlers && !stopping) {
    handlers = (Object.keys(SIGNALS) as StopSignal[]).map((sig) => [sig, () => void stop(sig)]);
    for (const [sig, h] of handlers) {
      try {
        Deno.addSignalListener(sig, h);
      } catch {
        // a platform without this signal (SIGHUP on Windows)
      }
    }
  } else if (!wanted && handlers) {
    for (const [sig, h] of handlers) {
      try {
        Deno.removeSignalListener(sig, h);
      } catch {
        // never added
      }
    }
    handlers = undefined;
  }
}

async function stop(sig: StopSignal): Promise<void> {
  if (stopping) return;
  stopping = true;
  const stopped = await stopAll();
  console.error(
    `stopped by ${sig}` +
      (stopped.length
        ? `: stopped ${stopped.length} child process(es) (${stopped.join(", ")})`
        : ""),
  );
  Deno.exit(128 + SIGNALS[sig]);
}
