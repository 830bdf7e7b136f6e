/**
 * User-facing errors. A `KitError` is a mistake in input (a config value, a file, an
 * override) or a numerical fault; entry points print its message in one line instead of a
 * stack trace. Messages name the field, the bad value and what is allowed.
 *
 * @module
 */

/** Base class for errors whose message is meant for the user, not a stack trace. */
export class KitError extends Error {
  /** The error's name, shown before its message. */
  override name = "KitError";
}

/** A config value (from a file, code or a CLI override) is invalid. */
export class ConfigError extends KitError {
  /** The error's name, shown before its message. */
  override name = "ConfigError";
}

/** A file (checkpoint, table, preference file) is missing, truncated, corrupt or mismatched. */
export class FileFormatError extends KitError {
  /** The error's name, shown before its message. */
  override name = "FileFormatError";
}

/** A NaN or Inf appeared in a loss, gradient or reward. */
export class NumericalError extends KitError {
  /** The error's name, shown before its message. */
  override name = "NumericalError";
  /** The error for `quantity` being `value` at `step`. */
  constructor(
    /** What went non-finite, e.g. `loss/policy`. */
    readonly quantity: string,
    /** Training step at which it happened. */
    readonly step: number,
    /** The offending value. */
    readonly value: number,
  ) {
    super(`${quantity} is ${value} at step ${step}`);
  }
}

/** A backend that was asked for cannot be used here. */
export class BackendError extends KitError {
  /** The error's name, shown before its message. */
  override name = "BackendError";
}

/**
 * The machine refused a file operation: the disk is full (ENOSPC, EDQUOT), the file system
 * is read-only (EROFS), access is denied (EACCES, EPERM), or a path is in the way (EEXIST,
 * EISDIR, ENOTDIR). Entry points print it as one line naming the path; the kit's writes
 * are atomic, so nothing it names was left half-written.
 */
export class ResourceError extends KitError {
  /** Error class name, shown by entry points. */
  override name = "ResourceError";
  /** An error about `path`, with its OS code and the one-line message. */
  constructor(
    /** The file or directory the operation was on. */
    readonly path: string,
    /** The OS error code, e.g. `ENOSPC`. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What each resource error code means, for messages. */
const RESOURCE_CODES: Readonly<Record<string, string>> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is exceeded",
  EROFS: "the file system is read-only",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EEXIST: "something already exists there",
  EISDIR: "it is a directory",
  ENOTDIR: "a part of the path is not a directory",
};

/** OS error numbers (Linux) of those codes, for errors that carry only `(os error N)`. */
const OS_ERRNO: Readonly<Record<number, string>> = {
  28: "ENOSPC",
  122: "EDQUOT",
  30: "EROFS",
  13: "EACCES",
  1: "EPERM",
  17: "EEXIST",
  21: "EISDIR",
  20: "ENOTDIR",
};

/**
 * The one-line {@link ResourceError} for an error from a file operation, when it is one
 * of the resource errors; undefined for anything else (a bug, a missing file).
 * @param e what was thrown.
 * @param path the path operated on, when the caller knows it better than the message.
 * @example
 * ```ts
 * import { resourceError } from "./errors.ts";
 * const full = Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" });
 * const r = resourceError(full, "results/x/summary.csv");
 * if (r?.message !== "cannot write results/x/summary.csv: no space left on the device (ENOSPC)") {
 *   throw new Error(r?.message);
 * }
 * ```
 */
export function resourceError(e: unknown, path?: string): ResourceError | undefined {
  if (e instanceof ResourceError) return e;
  if (!(e instanceof Error)) return undefined;
  let code = (e as { code?: unknown }).code;
  if (typeof code !== "string") {
    const n = /\(os error (\d+)\)/.exec(e.message)?.[1];
    code = n === undefined ? undefined : OS_ERRNO[Number(n)];
  }
  if (typeof code !== "string" || !(code in RESOURCE_CODES)) return undefined;
  // Deno's messages end in `: <op> '<path>'` or `: <op> '<from>' -> '<to>'`.
  const m = /: (\w+) '([^']+)'(?: -> '([^']+)')?$/.exec(e.message);
  const op = m?.[1] ?? "";
  const where = path ?? m?.[3] ?? m?.[2] ?? "a file";
  const verb = path !== undefined
    ? "write"
    : /^(read|stat|lstat|realpath)/.test(op)
    ? "read"
    : op === "remove"
    ? "remove"
    : "write";
  return new ResourceError(
    where,
    code,
    `cannot ${verb} ${where}: ${RESOURCE_CODES[code]} (${code})`,
  );
}

/** Render any value for an error message: strings quoted, others JSON. */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value === null) {
    return String(value);
  }
  if (value === undefined) return "undefined";
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
