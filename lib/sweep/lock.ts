/**
 * Exclusive lock files, so two processes never run the same stage at once.
 *
 * A lock is a file created with `O_CREAT | O_EXCL` (`Deno.open({createNew: true})`),
 * which exactly one process can win, also on NFS. It holds JSON naming the holder
 * ({@link LockInfo}: pid, hostname, start time, purpose). A lock is stale when its holder
 * ran on this host and that process is gone (see {@link processAlive}); a stale lock is
 * taken over, so a run killed with `kill -9` does not block the next one. Locks held from
 * another host are never judged stale (we cannot see its processes): the error message
 * says which file to delete if that host's run is known to be dead.
 *
 * Policy: {@link acquireLock} waits by default (polling), because the usual contender is
 * a sibling run in the same sweep that needs the same upstream stage, and the right thing
 * is to wait and then reuse its output. Give `wait: false` or `timeoutMs` to fail fast
 * instead with a {@link LockHeldError} that names the holder.
 *
 * @module
 */
import { KitError } from "../util/errors.ts";

/** What a lock file records about its holder. */
export interface LockInfo {
  /** Holder's process id. */
  pid: number;
  /** Holder's host name. */
  hostname: string;
  /** When the lock was taken (ISO 8601). */
  time: string;
  /** What the holder is doing, e.g. `stage ppo/3fa2…`. */
  purpose: string;
  /** Linux process start time (clock ticks), to tell a reused pid from the holder. */
  pidStart?: string;
  /** Unique per acquisition, so release never removes someone else's lock. */
  token: string;
}

/** Raised when a lock is held by someone else and we may not (or no longer) wait. */
export class LockHeldError extends KitError {
  /** Error class name, shown by entry points. */
  override name = "LockHeldError";
  /** Build the message from the lock file, its holder and how long we waited. */
  constructor(
    /** The lock file. */
    readonly path: string,
    /** The holder, if the file could be read. */
    readonly holder: LockInfo | undefined,
    waitedMs: number,
  ) {
    super(
      `lock ${path} is held by ${describeHolder(holder)}` +
        (waitedMs > 0 ? `; gave up after waiting ${(waitedMs / 1000).toFixed(1)} s` : "") +
        `. Another run is using this results directory; wait for it, or, if that process ` +
        `is gone, delete ${path}`,
    );
  }
}

/** A held lock. */
export interface Lock {
  /** The lock file. */
  readonly path: string;
  /** What we wrote into it. */
  readonly info: LockInfo;
  /** Remove the lock file if it is still ours. Idempotent. */
  release(): Promise<void>;
}

/** Options of {@link acquireLock}. */
export interface LockOptions {
  /** Wait for the holder to finish (default true) or fail at once. */
  wait?: boolean;
  /** Give up waiting after this many ms (default: wait indefinitely). */
  timeoutMs?: number;
  /** Poll interval while waiting, ms (default 200). */
  pollMs?: number;
  /** Recorded in the lock file for whoever has to wait. */
  purpose?: string;
  /** Called once when we start waiting, e.g. to log who holds the lock. */
  onWait?: (holder: LockInfo | undefined) => void;
}

/** How long an empty or unreadable lock file may exist before it counts as abandoned. */
const UNREADABLE_STALE_MS = 30_000;
let counter = 0;

/**
 * Take the lock at `path`, creating its directory if needed.
 * @throws LockHeldError when held by a live process and `wait` is false or `timeoutMs` passed.
 */
export async function acquireLock(path: string, opts: LockOptions = {}): Promise<Lock> {
  const { wait = true, timeoutMs = Infinity, pollMs = 200, purpose = "" } = opts;
  const dir = path.slice(0, Math.max(0, path.lastIndexOf("/")));
  if (dir) await Deno.mkdir(dir, { recursive: true });
  const started = Date.now();
  let warned = false;
  while (true) {
    const info = await tryCreate(path, purpose);
    if (info) return makeLock(path, info);
    const { holder, raw, ageMs } = await readLockFile(path);
    if (raw === undefined) continue; // vanished between create and read: try again
    const stale = holder ? !processAlive(holder) : ageMs > UNREADABLE_STALE_MS;
    if (stale) {
      await takeOver(path, raw);
      continue;
    }
    const waited = Date.now() - started;
    if (!wait || waited >= timeoutMs) throw new LockHeldError(path, holder, waited);
    if (!warned) {
      warned = true;
      opts.onWait?.(holder);
    }
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(1, timeoutMs - waited))));
  }
}

/**
 * Run `fn` while holding the lock at `path`; the lock is released even if `fn` throws.
 */
export async function withLock<R>(
  path: string,
  fn: () => Promise<R>,
  opts: LockOptions = {},
): Promise<R> {
  const lock = await acquireLock(path, opts);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** The holder recorded in a lock file, or undefined if there is none (or it is unreadable). */
export async function readLock(path: string): Promise<LockInfo | undefined> {
  return (await readLockFile(path)).holder;
}

/**
 * Whether the holder's process still runs. Decided from `/proc/<pid>/stat` where Deno may
 * read it (Linux, `--allow-all`; it also tells a reused pid by its start time), else by
 * probing the pid with SIGURG (ignored by default, needs `--allow-run`). Anything that
 * cannot be decided, including holders on other hosts, counts as alive so that a lock is
 * never stolen from a live run.
 */
export function processAlive(holder: Pick<LockInfo, "pid" | "hostname" | "pidStart">): boolean {
  if (holder.hostname !== hostName()) return true;
  const proc = procState(holder.pid);
  if (proc === "gone") return false;
  if (proc !== "unknown") {
    return holder.pidStart === undefined || proc.start === undefined ||
      holder.pidStart === proc.start;
  }
  try {
    Deno.kill(holder.pid, "SIGURG");
    return true;
  } catch (e) {
    return !(e instanceof Deno.errors.NotFound); // ESRCH: no such process
  }
}

/** This machine's host name, or `unknown-host` without `--allow-sys`. */
export function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown-host";
  }
}

function describeHolder(h: LockInfo | undefined): string {
  if (!h) return "an unknown process (the lock file is empty or unreadable)";
  return `pid ${h.pid} on ${h.hostname} since ${h.time}${h.purpose ? ` (${h.purpose})` : ""}`;
}

async function tryCreate(path: string, purpose: string): Promise<LockInfo | undefined> {
  const info: LockInfo = {
    pid: Deno.pid,
    hostname: hostName(),
    time: new Date().toISOString(),
    purpose,
    pidStart: procStartTime(Deno.pid),
    token: `${Deno.pid}-${Date.now()}-${counter++}`,
  };
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true, createNew: true, mode: 0o644 });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return undefined;
    throw e;
  }
  try {
    await file.write(new TextEncoder().encode(JSON.stringify(info) + "\n"));
    await file.sync().catch(() => {});
  } finally {
    file.close();
  }
  return info;
}

function makeLock(path: string, info: LockInfo): Lock {
  let released = false;
  return {
    path,
    info,
    async release() {
      if (released) return;
      released = true;
      const { holder } = await readLockFile(path);
      if (holder?.token === info.token) await Deno.remove(path).catch(() => {});
    },
  };
}

async function readLockFile(
  path: string,
): Promise<{ holder?: LockInfo; raw?: string; ageMs: number }> {
  let raw: string;
  let ageMs = 0;
  try {
    raw = await Deno.readTextFile(path);
    const mtime = (await Deno.stat(path)).mtime;
    ageMs = mtime ? Date.now() - mtime.getTime() : 0;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { ageMs };
    throw e;
  }
  try {
    const v = JSON.parse(raw) as LockInfo;
    if (typeof v.pid === "number" && typeof v.hostname === "string") {
      return { holder: v, raw, ageMs };
    }
  } catch {
    // half-written by a holder that is creating it right now, or died doing so
  }
  return { raw, ageMs };
}

/**
 * Remove a stale lock without racing another process doing the same: move it aside
 * (atomic, only one mover wins), then check that what we moved is the stale lock we
 * judged; if a fresh lock slipped in meanwhile, put it back.
 */
async function takeOver(path: string, staleRaw: string): Promise<void> {
  const aside = `${path}.stale-${Deno.pid}-${counter++}`;
  try {
    await Deno.rename(path, aside);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  const moved = await Deno.readTextFile(aside).catch(() => "");
  if (moved !== staleRaw) await Deno.link(aside, path).catch(() => {});
  await Deno.remove(aside).catch(() => {});
}

/**
 * What `/proc` says about a pid: gone (no such process, or a zombie: dead but not yet
 * reaped by its parent), alive with its start time (field 22 of `/proc/<pid>/stat`, clock
 * ticks), or unknown (no procfs, or Deno needs `--allow-all` to read it).
 */
function procState(pid: number): "gone" | "unknown" | { start: string | undefined } {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // the command name (field 2) is in parentheses and may contain spaces
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return rest[0] === "Z" ? "gone" : { start: rest[19] };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) return "unknown";
    try {
      Deno.statSync("/proc/self/stat");
      return "gone"; // procfs is there and readable, the pid is not
    } catch {
      return "unknown";
    }
  }
}

function procStartTime(pid: number): string | undefined {
  const s = procState(pid);
  return typeof s === "object" ? s.start : undefined;
}
