/**
 * Coercing the raw text of one `--key value` to the field's typed values, each checked
 * against the field's spec: a comma list on a scalar field is several values (a grid
 * axis, none repeated), on a list field one list; numbers are decimals that must not
 * underflow to 0 or overflow to Infinity; booleans are an explicit `true` or `false`.
 *
 * @module
 */
import { ConfigError, show } from "../util/errors.ts";
import { allowed, checkField, type FieldSpec } from "../util/schema.ts";

/** Coerce one raw string to validated values (one, or several for a grid). */
export function coerce(key: string, raw: string, spec: FieldSpec): unknown[] {
  const check = (v: unknown): unknown => {
    try {
      return checkField(key, v, spec);
    } catch (e) {
      if (e instanceof ConfigError) throw new ConfigError(`--${key} ${raw}: ${e.message}`);
      throw e;
    }
  };
  switch (spec.type) {
    case "numberList":
      return [check(raw === "" ? [] : raw.split(",").map((s) => parseNum(key, raw, s, spec)))];
    case "stringList":
      return [check(raw === "" ? [] : raw.split(","))];
    case "section":
      throw new Error("unreachable: sections are rejected by lookup");
  }
  const items = raw.split(",");
  const values = items.map((s) => {
    switch (spec.type) {
      case "number":
        if (spec.nullable && /^(null|none)$/i.test(s.trim())) return check(null);
        return check(parseNum(key, raw, s, spec));
      case "boolean": {
        const b = parseBool(s);
        if (b === undefined) {
          throw new ConfigError(`--${key} ${raw}: ${show(s)} is not true or false`);
        }
        return check(b);
      }
      default:
        return check(s);
    }
  });
  const dup = values.find((v, i) => values.indexOf(v) !== i);
  if (dup !== undefined) {
    throw new ConfigError(`--${key} ${raw}: ${show(dup)} appears twice in the grid`);
  }
  return values;
}

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function parseNum(key: string, raw: string, s: string, spec: FieldSpec): number {
  const t = s.trim();
  if (!NUMBER_RE.test(t)) {
    throw new ConfigError(
      `--${key} ${raw}: ${show(s)} is not a number (${key} must be ${allowed(spec)})`,
    );
  }
  const x = Number(t);
  // 1e-400 reads as 0 and 1e400 as Infinity: never run a value the user did not write.
  if (x === 0 && /[1-9]/.test(t.split(/[eE]/)[0]!)) {
    throw new ConfigError(`--${key} ${raw}: ${t} underflows to 0 in double precision`);
  }
  if (!Number.isFinite(x)) {
    throw new ConfigError(`--${key} ${raw}: ${t} overflows double precision`);
  }
  return x;
}

/** `true` or `false` (any case, spaces around), else undefined. */
export function parseBool(s: string): boolean | undefined {
  const t = s.trim().toLowerCase();
  return t === "true" ? true : t === "false" ? false : undefined;
}
