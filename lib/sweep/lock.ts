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
  /**
   * The holder's process start time, to tell a reused pid from the holder: `/proc` clock
   * ticks, or `ps:` and the start time `ps` prints.
   */
  pidStart?: string;
  /** Unique per acquisition, so release never removes someone else's lock. */
  token: string;
  /** How often the holder touches the lock file (ms); its mtime is the last heartbeat. */
  heartbeatMs?: number;
}

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

/** How long an empty or unreadable lock file may exist before it counts as abandoned. */
const UNREADABLE_STALE_MS = 30_000;
let counter = 0;

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
 * Why a lock is stale, or undefined when it must be respected: its holder on this host is
 * gone, or its holder cannot be seen and its heartbeat (age `ageMs`) is older than
 * `staleMs`, or the file is unreadable and older than 30 s (a holder that died while
 * creating it).
 */
function staleReason(
  holder: LockInfo | undefined,
  ageMs: number,
  staleMs: number,
): string | undefined {
  const age = `its last heartbeat was ${(ageMs / 1000).toFixed(0)} s ago`;
  if (!holder) {
    return ageMs > UNREADABLE_STALE_MS ? `the file is unreadable and ${age}` : undefined;
  }
  const state = holderState(holder);
  if (state === "gone") return "that process is gone";
  if (state === "alive") return undefined;
  return ageMs > staleMs ? `${age} (timeout ${(staleMs / 1000).toFixed(0)} s)` : undefined;
}

/**
 * Whether the holder's process still runs. Anything that cannot be decided, including
 * holders on other hosts, counts as alive so that a lock is never stolen from a live run
 * (a lock with such a holder expires by its heartbeat instead).
 */
export function processAlive(holder: Pick<LockInfo, "pid" | "hostname" | "pidStart">): boolean {
  return holderState(holder) !== "gone";
}

/**
 * Whether a holder runs: `unknown` for another host or where nothing can tell. On this
 * host it is decided from `/proc/<pid>/stat` where Deno may read it (`--allow-all`), else
 * by probing the pid with SIGURG (ignored by default; needs an unscoped `--allow-run`),
 * else from `ps -o stat=,lstart= -p <pid>` (needs `--allow-run=ps`). `/proc` and `ps` also
 * tell a reused pid by its start time.
 */
function holderState(
  holder: Pick<LockInfo, "pid" | "hostname" | "pidStart">,
): "alive" | "gone" | "unknown" {
  if (holder.hostname !== hostName()) return "unknown";
  const proc = procState(holder.pid);
  if (proc === "gone") return "gone";
  if (proc !== "unknown") return sameStart(holder.pidStart, proc.start) ? "alive" : "gone";
  try {
    Deno.kill(holder.pid, "SIGURG");
    // it exists; ps tells a zombie or a reused pid where it may run
    const ps = psState(holder.pid);
    if (typeof ps === "object") return sameStart(holder.pidStart, ps.start) ? "alive" : "gone";
    return ps === "gone" ? "gone" : "alive";
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "gone"; // ESRCH: no such process
  }
  const ps = psState(holder.pid);
  if (ps === "gone" || ps === "unknown") return ps;
  return sameStart(holder.pidStart, ps.start) ? "alive" : "gone";
}

/** Whether two recorded start times may be the same process (unknown or other kinds: yes). */
function sameStart(recorded: string | undefined, now: string | undefined): boolean {
  if (recorded === undefined || now === undefined) return true;
  if (recorded.startsWith("ps:") !== now.startsWith("ps:")) return true;
  return recorded === now;
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

async function tryCreate(
  path: string,
  purpose: string,
  heartbeatMs: number,
): Promise<LockInfo | undefined> {
  const start = ownStartTime();
  const info: LockInfo = {
    pid: Deno.pid,
    hostname: hostName(),
    time: new Date().toISOString(),
    purpose,
    ...(start !== undefined ? { pidStart: start } : {}),
    token: `${Deno.pid}-${Date.now()}-${counter++}`,
    heartbeatMs,
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
 * @returns whether the stale lock was removed by us.
 */
async function takeOver(path: string, staleRaw: string): Promise<boolean> {
  const aside = `${path}.stale-${Deno.pid}-${counter++}`;
  try {
    await Deno.rename(path, aside);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  const moved = await Deno.readTextFile(aside).catch(() => "");
  const ours = moved === staleRaw;
  if (!ours) await Deno.link(aside, path).catch(() => {});
  await Deno.remove(aside).catch(() => {});
  return ours;
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

/**
 * What `ps` says about a pid: gone (not listed, or a zombie), alive with its start time
 * (`ps:` and `lstart`), or unknown (no `ps`, or no permission to run it).
 */
function psState(pid: number): "gone" | "unknown" | { start: string } {
  let out: Deno.CommandOutput;
  try {
    out = new Deno.Command("ps", {
      args: ["-o", "stat=,lstart=", "-p", String(pid)],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).outputSync();
  } catch {
    return "unknown";
  }
  const line = new TextDecoder().decode(out.stdout).trim();
  if (!line) return out.code === 1 ? "gone" : "unknown";
  const cut = line.indexOf(" ");
  if (line.startsWith("Z")) return "gone";
  return { start: `ps:${line.slice(cut + 1).trim()}` };
}

let ownStart: string | undefined | null = null;

/** This process's start time, once: from `/proc`, else `ps`, else unknown. */
function ownStartTime(): string | undefined {
  if (ownStart !== null) return ownStart;
  const proc = procState(Deno.pid);
  if (typeof proc === "object" && proc.start !== undefined) return ownStart = proc.start;
  const ps = psState(Deno.pid);
  return ownStart = typeof ps === "object" ? ps.start : undefined;
}
