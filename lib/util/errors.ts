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
