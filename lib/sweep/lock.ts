/**
 * Exclusive lock files, so two processes never run the same stage at once.
 *
 * A lock is a file created with `O_CREAT | O_EXCL` (`Deno.open({createNew: true})`),
 * which exactly one process can win, also on NFS. It holds JSON naming the holder
 * ({@link LockInfo}: pid, hostname, start time, purpose, heartbeat interval), and its
 * modification time is the holder's **heartbeat**: while the lock is held, its holder
 * touches the file every `heartbeatMs` (`utime`, which never replaces the file, so a
 * holder can never clobber a lock that someone else took over).
 *
 * A lock is stale, and is taken over with a one-line notice naming the holder, when
 * - its holder ran on this host and that process is gone (see {@link processAlive}), so a
 *   run killed with `kill -9` does not block the next one; or
 * - its holder cannot be seen (another host: a Slurm node that was killed, on NFS) and its
 *   heartbeat is older than `staleMs` (default {@link DEFAULT_STALE_MS}), so a dead node's
 *   lock expires instead of making the next sweep wait forever.
 * A holder on this host that is known to be alive is never judged stale, however old its
 * heartbeat.
 *
 * Policy: {@link acquireLock} waits by default (polling), because the usual contender is
 * a sibling run in the same sweep that needs the same upstream stage, and the right thing
 * is to wait and then reuse its output. Give `wait: false` or `timeoutMs` to fail fast
 * instead with a {@link LockHeldError} that names the holder.
 *
 * @module
 */
import { KitError } from "../util/errors.ts";
import type { LockInfo } from "./lock_holder.ts";
import { readLockFile, takeOver, tryCreate } from "./_lock_file.ts";
import { holderState, staleReason } from "./_lock_staleness.ts";

/** A lock's holder and its last heartbeat (the lock file's modification time). */
export interface LockState {
  /** The holder, if the lock file is readable. */
  holder?: LockInfo;
  /** When the holder last touched the lock. */
  heartbeat?: Date;
}

/** Heartbeats older than this make a lock whose holder cannot be seen stale: 10 min. */
export const DEFAULT_STALE_MS = 10 * 60_000;
/** How often a holder touches its lock: 30 s. */
export const DEFAULT_HEARTBEAT_MS = 30_000;

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
  /**
   * A lock whose holder cannot be seen (another host, or no way to look) is stale once its
   * heartbeat is older than this (ms, default {@link DEFAULT_STALE_MS}).
   */
  staleMs?: number;
  /** Touch the held lock this often (ms, default {@link DEFAULT_HEARTBEAT_MS}). */
  heartbeatMs?: number;
  /** Where the one-line takeover notice goes (default: stderr). */
  log?: (message: string) => void;
}

/**
 * Take the lock at `path`, creating its directory if needed.
 * @throws LockHeldError when held by a live process and `wait` is false or `timeoutMs` passed.
 */
export async function acquireLock(path: string, opts: LockOptions = {}): Promise<Lock> {
  const { wait = true, timeoutMs = Infinity, pollMs = 200, purpose = "" } = opts;
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  const heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const log = opts.log ?? ((m: string) => console.error(m));
  const dir = path.slice(0, Math.max(0, path.lastIndexOf("/")));
  if (dir) await Deno.mkdir(dir, { recursive: true });
  const started = Date.now();
  let warned = false;
  while (true) {
    const info = await tryCreate(path, purpose, heartbeatMs);
    if (info) return makeLock(path, info, heartbeatMs, log);
    const { holder, raw, ageMs } = await readLockFile(path);
    if (raw === undefined) continue; // vanished between create and read: try again
    const why = staleReason(holder, ageMs, staleMs);
    if (why) {
      if (await takeOver(path, raw)) {
        log(`taking over lock ${path} of ${describeHolder(holder)}: ${why}`);
      }
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

/** The holder of a lock file and its last heartbeat; empty when there is no lock. */
export async function readLockState(path: string): Promise<LockState> {
  const { holder, raw, ageMs } = await readLockFile(path);
  if (raw === undefined) return {};
  return { ...(holder ? { holder } : {}), heartbeat: new Date(Date.now() - ageMs) };
}

/**
 * Whether the holder's process still runs. Anything that cannot be decided, including
 * holders on other hosts, counts as alive so that a lock is never stolen from a live run
 * (a lock with such a holder expires by its heartbeat instead).
 */
export function processAlive(holder: Pick<LockInfo, "pid" | "hostname" | "pidStart">): boolean {
  return holderState(holder) !== "gone";
}

function describeHolder(h: LockInfo | undefined): string {
  if (!h) return "an unknown process (the lock file is empty or unreadable)";
  return `pid ${h.pid} on ${h.hostname} since ${h.time}${h.purpose ? ` (${h.purpose})` : ""}`;
}

function makeLock(
  path: string,
  info: LockInfo,
  heartbeatMs: number,
  log: (m: string) => void,
): Lock {
  let released = false;
  let beating = false;
  // Touch the lock while it is ours; stop (and say so) if someone took it over.
  const timer = setInterval(async () => {
    if (beating || released) return;
    beating = true;
    try {
      const { holder } = await readLockFile(path);
      if (released) return;
      if (holder?.token !== info.token) {
        clearInterval(timer);
        log(`lost lock ${path}: another process took it over (this one was stalled)`);
        return;
      }
      const now = new Date();
      await Deno.utime(path, now, now);
    } catch {
      // a missed heartbeat is harmless: the next one comes before the lock expires
    } finally {
      beating = false;
    }
  }, heartbeatMs);
  Deno.unrefTimer(timer);
  return {
    path,
    info,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      const { holder } = await readLockFile(path);
      if (holder?.token === info.token) await Deno.remove(path).catch(() => {});
    },
  };
}
