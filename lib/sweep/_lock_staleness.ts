/**
 * When a lock is stale (the policy is lib/sweep/lock.ts's): its holder on this host is
 * gone, judged from `/proc`, a signal probe or `ps`, which also tell a reused pid by its
 * start time; or its holder cannot be seen and its heartbeat is too old; or its file is
 * unreadable and older than 30 s. Also this process's own start time, which a lock file
 * records so that this check can tell a reused pid.
 *
 * @module
 */
import { hostName, type LockInfo } from "./lock_holder.ts";

/** How long an empty or unreadable lock file may exist before it counts as abandoned. */
const UNREADABLE_STALE_MS = 30_000;

/**
 * Why a lock is stale, or undefined when it must be respected: its holder on this host is
 * gone, or its holder cannot be seen and its heartbeat (age `ageMs`) is older than
 * `staleMs`, or the file is unreadable and older than 30 s (a holder that died while
 * creating it).
 */
export function staleReason(
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
 * Whether a holder runs: `unknown` for another host or where nothing can tell. On this
 * host it is decided from `/proc/<pid>/stat` where Deno may read it (`--allow-all`), else
 * by probing the pid with SIGURG (ignored by default; needs an unscoped `--allow-run`),
 * else from `ps -o stat=,lstart= -p <pid>` (needs `--allow-run=ps`). `/proc` and `ps` also
 * tell a reused pid by its start time.
 */
export function holderState(
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
export function ownStartTime(): string | undefined {
  if (ownStart !== null) return ownStart;
  const proc = procState(Deno.pid);
  if (typeof proc === "object" && proc.start !== undefined) return ownStart = proc.start;
  const ps = psState(Deno.pid);
  return ownStart = typeof ps === "object" ? ps.start : undefined;
}
