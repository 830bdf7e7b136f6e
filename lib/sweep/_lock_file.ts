/**
 * The lock file itself: created with `O_CREAT | O_EXCL` so that exactly one process wins,
 * read back with its age (the holder's last heartbeat), and, when stale, moved aside
 * without racing another process doing the same.
 *
 * @module
 */
import { hostName, type LockInfo } from "./lock_holder.ts";
import { ownStartTime } from "./_lock_staleness.ts";

/** Makes tokens and aside names unique within this process. */
let counter = 0;

/** Create the lock file with our {@link LockInfo}, or undefined when it exists already. */
export async function tryCreate(
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

/** The lock file's holder (when readable), raw text and age; no text when there is no file. */
export async function readLockFile(
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
export async function takeOver(path: string, staleRaw: string): Promise<boolean> {
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
