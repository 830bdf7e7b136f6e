/**
 * Atomic file writes: write a temp file next to the target, fsync it, rename it over the
 * target. A reader (or a rerun after Ctrl-C or `kill -9`) sees either the old file or the
 * new one, never a half-written one, because `rename(2)` within one directory is atomic.
 *
 * The temp file lives in the target's directory (`.<name>.tmp-<pid>-<counter>`) so the
 * rename never crosses a filesystem. Checkpoints, tables, manifests and DONE markers are
 * all written through here.
 *
 * @example
 * ```ts
 * import { writeTextAtomic } from "./atomic_write.ts";
 * const dir = await Deno.makeTempDir();
 * await writeTextAtomic(`${dir}/a/b.json`, "{}");
 * if (Deno.readTextFileSync(`${dir}/a/b.json`) !== "{}") throw new Error();
 * ```
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { resourceError } from "./errors.ts";

/** Distinguishes temp files of concurrent writes from one process. */
let counter = 0;

/** The temp-file name used for a write to `path`: hidden, unique per process and write. */
function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${Deno.pid}-${counter++}`);
}

/**
 * Write `text` (UTF-8) to `path` atomically, creating parent directories.
 * @param path target file; replaced if it exists.
 * @param text the full new content.
 */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  await writeBytesAtomic(path, new TextEncoder().encode(text));
}

/**
 * Write `bytes` to `path` atomically, creating parent directories. On any failure the
 * temp file is removed and the target is left as it was.
 * @param path target file; replaced if it exists.
 * @param bytes the full new content.
 * @throws ResourceError naming `path` (or its directory) when the disk is full, the file
 *   system read-only, access denied or a path in the way; other errors as they come.
 */
export async function writeBytesAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw resourceError(e, dir) ?? e;
  }
  const tmp = tempPathFor(path);
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
    try {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      // fsync so that after a power loss the rename cannot point at an empty file.
      await file.sync().catch(() => {});
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw resourceError(e, path) ?? e;
  }
  await syncDir(dir);
}

/** fsync a directory so the rename itself is durable; best effort (not all OSes allow it). */
async function syncDir(dir: string): Promise<void> {
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // directories cannot be opened or synced on some platforms; the rename is still atomic
  }
}
