/**
 * Who holds a lock: what the lock file records about its holder ({@link LockInfo}), and
 * this machine's name ({@link hostName}), which tells a holder on this host, whose process
 * can be looked at, from one on another host, which only its heartbeat can vouch for.
 *
 * @module
 */

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

/** This machine's host name, or `unknown-host` without `--allow-sys`. */
export function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown-host";
  }
}
