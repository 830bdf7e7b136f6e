/**
 * Sweep what stopped processes left behind: temp files of atomic writes, half-exported
 * PNGs, stale lock files moved aside, discarded or half-published directories (in a
 * results directory), and the kit's temp directories (in `$TMPDIR`, default `/tmp`).
 * A process stopped by a signal cleans up after itself (lib/util/children.ts); one killed
 * with `kill -9`, or a machine that lost power, cannot, so every sweep, plot and merge
 * calls {@link sweepTempFiles} at start.
 *
 * Every name the kit gives a temp file or directory carries its owner's pid. One is
 * removed when that pid is not a live process on this host and the file has not changed
 * for {@link IDLE_MS} (so it is not in the middle of a write anywhere, even by a process
 * with the same pid on another host sharing the directory). Chromium sessions
 * (`kit-chromium-<pid>-*`, lib/plot/chromium.ts) go by the same rule; older profiles
 * named without a pid are removed once untouched for {@link PROFILE_IDLE_MS}: a running
 * browser writes to its profile constantly. Stage
 * `.partial-<pid>` directories are left to the stage cache, which removes or resumes them
 * under the stage's lock.
 *
 * @module
 */
import { join } from "node:path";
import { hostName } from "./lock_holder.ts";
import { processAlive } from "./lock.ts";

/** A leftover is removed once untouched this long (and its owner is gone): 60 s. */
export const IDLE_MS = 60_000;
/** A Chromium profile is removed once untouched this long: 1 h. */
export const PROFILE_IDLE_MS = 3_600_000;

/** Names of the kit's temp files and directories in a results directory, with the pid. */
const RESULTS_PATTERNS: readonly RegExp[] = [
  /^\..+\.tmp-(\d+)-\d+$/, // lib/util/atomic_write.ts
  /^\..+\.tmp-(\d+)\.png$/, // lib/plot/png.ts
  /^\..+\.stale-(\d+)-\d+$/, // _lock_file.ts: a stale lock moved aside
  /^\..+\.discarded-(\d+)$/, // stage_cache.ts: a corrupt stage moved aside
  /^\..+\.(?:publish|replaced)-(\d+)$/, // a run being published or replaced
  /^\.write-probe-(\d+)$/, // resources.ts: the writability probe
];

/** The prefix of the XDG_RUNTIME_DIR temp directory a process makes (lib/backend/select.ts). */
export const XDG_PREFIX = "rlhf-xdg-";

/** What {@link sweepTempFiles} removed. */
export interface SweptTemps {
  /** Removed paths. */
  removed: string[];
  /** Their total size in bytes. */
  bytes: number;
}

/** Options of {@link sweepTempFiles}. */
export interface SweepTempOptions {
  /** Also sweep this temp directory (default: `$TMPDIR` or `/tmp`; null: none). */
  tmpDir?: string | null;
  /** Idle time before a dead process's leftover goes, ms (default {@link IDLE_MS}). */
  idleMs?: number;
  /** Idle time before a Chromium profile goes, ms (default {@link PROFILE_IDLE_MS}). */
  profileIdleMs?: number;
  /** The one-line report of what was removed (default: stderr); silent when nothing was. */
  log?: (message: string) => void;
}

/**
 * Remove leftovers of dead processes under `root` (recursively) and in the temp directory.
 * Missing directories and entries that cannot be removed are skipped: sweeping is
 * housekeeping and never fails the command that calls it.
 */
export async function sweepTempFiles(
  root: string,
  opts: SweepTempOptions = {},
): Promise<SweptTemps> {
  const idle = opts.idleMs ?? IDLE_MS;
  const out: SweptTemps = { removed: [], bytes: 0 };
  const now = Date.now();
  const here = hostName();
  const dead = (pid: number) => !processAlive({ pid, hostname: here });
  const consider = async (path: string, pid: number | undefined, idleMs: number) => {
    const st = await Deno.stat(path).catch(() => undefined);
    if (!st) return;
    if (now - (st.mtime?.getTime() ?? now) < idleMs) return;
    if (pid !== undefined && (pid === Deno.pid || !dead(pid))) return;
    const bytes = st.isDirectory ? await sizeOf(path) : st.size;
    try {
      await Deno.remove(path, { recursive: true });
      out.removed.push(path);
      out.bytes += bytes;
    } catch {
      // not ours to remove (permissions), or gone already
    }
  };
  const visit = async (dir: string, depth: number) => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      const pid = RESULTS_PATTERNS.map((re) => re.exec(e.name)?.[1]).find((p) => p);
      if (pid) await consider(path, Number(pid), idle);
      else if (e.isDirectory && depth < 6) await visit(path, depth + 1);
    }
  };
  await visit(root, 0);
  const tmp = opts.tmpDir === undefined ? tempDir() : opts.tmpDir;
  if (tmp) {
    let entries: Deno.DirEntry[] = [];
    try {
      entries = await Array.fromAsync(Deno.readDir(tmp));
    } catch {
      // no temp dir we may read
    }
    for (const e of entries) {
      if (!e.isDirectory) continue;
      const owned = new RegExp(`^(?:${XDG_PREFIX}|kit-chromium-)(\\d+)-`).exec(e.name);
      if (owned) await consider(join(tmp, e.name), Number(owned[1]), idle);
      else if (e.name.startsWith("kit-chromium-")) {
        await consider(join(tmp, e.name), undefined, opts.profileIdleMs ?? PROFILE_IDLE_MS);
      }
    }
  }
  if (out.removed.length) {
    (opts.log ?? ((m: string) => console.error(m)))(
      `removed ${out.removed.length} temp file(s) and director(ies) left by stopped ` +
        `processes (${(out.bytes / 1e6).toFixed(1)} MB)`,
    );
  }
  return out;
}

/** `$TMPDIR`, else `/tmp` (where `Deno.makeTempDir` puts directories). */
function tempDir(): string {
  try {
    return Deno.env.get("TMPDIR") || "/tmp";
  } catch {
    return "/tmp";
  }
}

async function sizeOf(dir: string): Promise<number> {
  let n = 0;
  try {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) n += await sizeOf(p);
      else n += (await Deno.stat(p).catch(() => ({ size: 0 }))).size;
    }
  } catch {
    // unreadable: count nothing
  }
  return n;
}
