/**
 * Paths from flags and files are checked before anything is written: a run id is a plain
 * file name (never a path), and a results directory given on the command line has no `..`
 * part, so a crafted `config.json`, job file or shard record, or a flag such as
 * `--results results/../../x`, cannot make the kit write outside the results roots its
 * task may write (deno.json's `--allow-write`, which Deno enforces for absolute paths).
 *
 * @module
 */
import { ConfigError, FileFormatError, show } from "../util/errors.ts";

/** A run id: letters, digits and `_ . + = -`, not starting with `.` or `-`, no `..`. */
const RUN_ID = /^[A-Za-z0-9_][A-Za-z0-9_.+=-]*$/;

/**
 * Whether `id` is a valid run id (a plain directory name: see {@link checkRunId}).
 * @example
 * ```ts
 * import { isRunId } from "./paths.ts";
 * if (!isRunId("ppo__beta0.05__seed1__3fa29c1e") || isRunId("../x")) throw new Error();
 * ```
 */
export function isRunId(id: unknown): id is string {
  return typeof id === "string" && id.length <= 255 && RUN_ID.test(id) && !id.includes("..");
}

/**
 * A run id read from a file, checked.
 * @param id the value read.
 * @param where the file (and field) it came from, for the message.
 * @throws FileFormatError naming the file and the value when it is not a plain run id.
 */
export function checkRunId(id: unknown, where: string): string {
  if (isRunId(id)) return id;
  throw new FileFormatError(
    `${where}: ${show(id)} is not a run id (letters, digits and _ . + = -, no "..", not a path)`,
  );
}

/**
 * A directory given by a flag (`--results`, `deno task merge <dir>`, `--out`), checked.
 * @param path the value given.
 * @param flag the flag or argument, for the message.
 * @throws ConfigError when it is empty, holds a NUL byte or a `..` part.
 */
export function checkUserPath(path: string, flag: string): string {
  if (path === "" || path.includes("\0")) {
    throw new ConfigError(`${flag} must be a path, got ${show(path)}`);
  }
  if (path.split(/[\\/]+/).includes("..")) {
    throw new ConfigError(
      `${flag} ${path}: a path with ".." is not allowed; give the directory itself ` +
        `(under results/ or /tmp, where the task may write)`,
    );
  }
  return path;
}
