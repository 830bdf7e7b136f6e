/**
 * Publishing a run record: copying a run's files from its stage directory to
 * `<results>/<run-id>/` ({@link publishRun}), so that a published directory is never
 * half-published:
 * - manifest.json commits a run directory. Publishing removes it first, writes every
 *   other file (each atomically), then writes it last; a reader takes a directory without
 *   manifest.json for an unfinished one. A disk that fills up midway leaves a directory
 *   without a manifest and a one-line error naming the file; the next sweep publishes it
 *   again from the cache.
 * - Files copied from the cache are checked against the SHA-256 their stage recorded
 *   before anything in the published directory is touched.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { writeBytesAtomic } from "../util/atomic_write.ts";
import { FileFormatError, KitError } from "../util/errors.ts";
import { sha256Hex } from "./checksums.ts";
import { POLICY_CHECKPOINT } from "./checkpoint_keeper.ts";
import { withLock } from "./lock.ts";
import { readStageChecksums } from "./stage_cache.ts";

/**
 * Files a published run directory may hold; anything else there is left alone.
 * manifest.json comes last: it is written when the rest is in place, and commits the run.
 */
export const RUN_FILES = [
  "config.json",
  "metrics.csv",
  "timings.csv",
  "summary.csv",
  "samples.jsonl",
  POLICY_CHECKPOINT,
  "manifest.json",
] as const;

/** Options of {@link publishRun}. */
export interface PublishOptions {
  /**
   * `from` is a finished stage: check each file against the SHA-256 its DONE recorded
   * before anything is published (default false: a failure record, which has no DONE).
   */
  verify?: boolean;
}

/**
 * Copy a run's files ({@link RUN_FILES} present in `from`) to its published directory `to`,
 * and remove the known files `from` lacks (left by an older record). manifest.json is
 * removed first and written last, so `to` holds a manifest only when every file beside it
 * belongs to it; every file is written atomically, the directory never disappears, and
 * two processes publishing the same run take turns (a lock beside `to`).
 * @throws FileFormatError, before touching `to`, when `verify` and a file of `from` does
 *   not match its checksum; ResourceError when the disk is full or read-only (then `to`
 *   has no manifest.json: not published).
 */
export async function publishRun(
  from: string,
  to: string,
  opts: PublishOptions = {},
): Promise<void> {
  const lock = join(dirname(to), `.${basename(to)}.publish.lock`);
  await withLock(lock, async () => {
    const sums = opts.verify ? await readStageChecksums(from) : undefined;
    const files = new Map<string, Uint8Array | undefined>();
    for (const f of RUN_FILES) {
      let bytes: Uint8Array | undefined;
      try {
        bytes = await Deno.readFile(join(from, f));
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      if (bytes && sums && sums[f] !== await sha256Hex(bytes)) {
        throw new FileFormatError(
          `${join(from, f)} does not match the SHA-256 its stage recorded; ${to} was not ` +
            `published (run the sweep again: the stage is discarded and recomputed)`,
        );
      }
      files.set(f, bytes);
    }
    if (!files.get("manifest.json")) {
      throw new KitError(`${from} has no manifest.json: it is not a finished run record`);
    }
    if (await samePublished(to, files)) return; // a cached run republished: nothing changes
    await Deno.mkdir(to, { recursive: true });
    // Uncommit: until the new manifest is written, readers take `to` as unfinished.
    await Deno.remove(join(to, "manifest.json")).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    for (const [f, bytes] of files) {
      if (f === "manifest.json") continue;
      if (bytes) await writeBytesAtomic(join(to, f), bytes);
      else await Deno.remove(join(to, f)).catch(() => {});
    }
    await writeBytesAtomic(join(to, "manifest.json"), files.get("manifest.json")!);
  }, { purpose: `publish ${basename(to)}` });
}

/** Whether `to` already holds exactly these files (and none of the known others). */
async function samePublished(
  to: string,
  files: ReadonlyMap<string, Uint8Array | undefined>,
): Promise<boolean> {
  for (const [f, bytes] of files) {
    const old = await Deno.readFile(join(to, f)).catch(() => undefined);
    if (!bytes || !old) {
      if (bytes || old) return false;
      continue;
    }
    if (old.length !== bytes.length || old.some((b, i) => b !== bytes[i])) return false;
  }
  return true;
}
