/**
 * Typed config schemas with validation whose messages name the field, the value and what
 * is allowed (TRL-style validation on construction).
 *
 * A schema is a record of field specs; {@link resolveConfig} merges user values over
 * defaults, rejects unknown keys, checks every field and returns a frozen copy.
 *
 * @example
 * ```ts
 * import { resolveConfig, type Schema } from "./schema.ts";
 * interface C { beta: number; loss: "dpo" | "ipo" }
 * const schema: Schema<C> = {
 *   beta: { type: "number", gt: 0, doc: "KL coefficient β" },
 *   loss: { type: "enum", values: ["dpo", "ipo"], doc: "loss type" },
 * };
 * const c = resolveConfig("dpo", schema, { beta: 0.1, loss: "dpo" }, { beta: 0.5 });
 * if (c.beta !== 0.5) throw new Error();
 * ```
 *
 * @module
 */
import { ConfigError, show } from "./errors.ts";

/** A number field. `gt`/`lt` are exclusive bounds, `min`/`max` inclusive. */
export interface NumberSpec {
  /** Discriminant. */
  type: "number";
  /** What the field means, one line (for `describeSchema`). */
  doc: string;
  /** Require an integer. */
  int?: boolean;
  /** Inclusive lower bound. */
  min?: number;
  /** Inclusive upper bound. */
  max?: number;
  /** Exclusive lower bound. */
  gt?: number;
  /** Exclusive upper bound. */
  lt?: number;
  /** Allow `null` (meaning "off"). */
  nullable?: boolean;
}
/** A string field, optionally non-empty. */
export interface StringSpec {
  /** Discriminant. */
  type: "string";
  /** What the field means, one line. */
  doc: string;
  /** Reject the empty string. */
  nonEmpty?: boolean;
}
/** One of a fixed set of strings. */
export interface EnumSpec {
  /** Discriminant. */
  type: "enum";
  /** What the field means, one line. */
  doc: string;
  /** The allowed values. */
  values: readonly string[];
}
/** A boolean field. */
export interface BooleanSpec {
  /** Discriminant. */
  type: "boolean";
  /** What the field means, one line. */
  doc: string;
}
/** A list of numbers, each checked like a {@link NumberSpec}. */
export interface NumberListSpec {
  /** Discriminant. */
  type: "numberList";
  /** What the field means, one line. */
  doc: string;
  /** Require integers. */
  int?: boolean;
  /** Inclusive lower bound of each element. */
  min?: number;
  /** Exclusive lower bound of each element. */
  gt?: number;
  /** Inclusive upper bound of each element. */
  max?: number;
  /** Reject the empty list. */
  nonEmpty?: boolean;
}
/** A list of strings, optionally restricted to `values`. */
export interface StringListSpec {
  /** Discriminant. */
  type: "stringList";
  /** What the field means, one line. */
  doc: string;
  /** The allowed values (default: any string). */
  values?: readonly string[];
  /** Reject the empty list. */
  nonEmpty?: boolean;
}
/** A nested config section. */
export interface SectionSpec {
  /** Discriminant. */
  type: "section";
  /** What the section means, one line. */
  doc: string;
  /** The section's own schema. */
  // deno-lint-ignore no-explicit-any
  schema: Schema<any>;
}

/** One field's spec. */
export type FieldSpec =
  | NumberSpec
  | StringSpec
  | EnumSpec
  | BooleanSpec
  | NumberListSpec
  | StringListSpec
  | SectionSpec;

/** A schema: one spec per key of `T`. */
export type Schema<T> = { [K in keyof T]-?: FieldSpec };

/** Describe what a spec allows, for error messages. */
export function allowed(spec: FieldSpec): string {
  switch (spec.type) {
    case "number":
    case "numberList": {
      const parts: string[] = [];
      if (spec.gt !== undefined) parts.push(`> ${spec.gt}`);
      if (spec.min !== undefined) parts.push(`>= ${spec.min}`);
      if ("lt" in spec && spec.lt !== undefined) parts.push(`< ${spec.lt}`);
      if (spec.max !== undefined) parts.push(`<= ${spec.max}`);
      const what = spec.int ? "an integer" : "a number";
      const base = parts.length ? `${what} ${parts.join(" and ")}` : what;
      if (spec.type === "numberList") {
        return `a list of ${base.replace(/^an? (integer|number)/, "$1s")}`;
      }
      return spec.nullable ? `${base} or null` : base;
    }
    case "string":
      return spec.nonEmpty ? "a non-empty string" : "a string";
    case "enum":
      return `one of ${spec.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "boolean":
      return "true or false";
    case "stringList":
      return spec.values
        ? `a list of ${spec.values.map((v) => JSON.stringify(v)).join(", ")}`
        : "a list of strings";
    case "section":
      return "an object";
  }
}

function fail(field: string, value: unknown, spec: FieldSpec): never {
  throw new ConfigError(`${field} must be ${allowed(spec)}, got ${show(value)}`);
}

function checkNumber(
  field: string,
  v: unknown,
  spec: NumberSpec | NumberListSpec,
  whole: FieldSpec,
): number {
  if (typeof v !== "number" || !Number.isFinite(v)) fail(field, v, whole);
  if (spec.int && !Number.isInteger(v)) fail(field, v, whole);
  if (spec.gt !== undefined && !(v > spec.gt)) fail(field, v, whole);
  if (spec.min !== undefined && !(v >= spec.min)) fail(field, v, whole);
  if ("lt" in spec && spec.lt !== undefined && !(v < spec.lt)) fail(field, v, whole);
  if (spec.max !== undefined && !(v <= spec.max)) fail(field, v, whole);
  return v;
}

/** Check one value against its spec; returns the (possibly nested, resolved) value. */
export function checkField(field: string, v: unknown, spec: FieldSpec): unknown {
  switch (spec.type) {
    case "number":
      if (v === null && spec.nullable) return null;
      return checkNumber(field, v, spec, spec);
    case "string":
      if (typeof v !== "string" || (spec.nonEmpty && v.length === 0)) fail(field, v, spec);
      return v;
    case "enum":
      if (typeof v !== "string" || !spec.values.includes(v)) fail(field, v, spec);
      return v;
    case "boolean":
      if (typeof v !== "boolean") fail(field, v, spec);
      return v;
    case "numberList":
      if (!Array.isArray(v) || (spec.nonEmpty && v.length === 0)) fail(field, v, spec);
      return v.map((x) => checkNumber(field, x, spec, spec));
    case "stringList":
      if (!Array.isArray(v) || (spec.nonEmpty && v.length === 0)) fail(field, v, spec);
      for (const x of v) {
        if (typeof x !== "string" || (spec.values && !spec.values.includes(x))) {
          fail(field, x, spec);
        }
      }
      return [...v];
    case "section":
      return validateConfig(field, spec.schema, v);
  }
}

/**
 * Validate a complete config object: every schema key present and valid, no unknown keys.
 * @param section the dotted name used in messages, e.g. `ppo` gives `ppo.beta`.
 * @returns a frozen copy.
 */
export function validateConfig<T>(section: string, schema: Schema<T>, value: unknown): T {
  const prefix = section ? `${section}.` : "";
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`${section || "config"} must be an object, got ${show(value)}`);
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!(key in schema)) {
      throw new ConfigError(
        `unknown key ${prefix}${key}; known keys: ${Object.keys(schema).join(", ")}`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema) as [string, FieldSpec][]) {
    if (!(key in obj) || obj[key] === undefined) {
      throw new ConfigError(
        `${prefix}${key} is missing (${spec.doc}); it must be ${allowed(spec)}`,
      );
    }
    out[key] = checkField(`${prefix}${key}`, obj[key], spec);
  }
  return Object.freeze(out) as T;
}

/**
 * Merge `overrides` over `defaults` (nested sections merged key by key), then validate.
 * Unknown keys in `overrides` are rejected with the list of known ones.
 */
export function resolveConfig<T>(
  section: string,
  schema: Schema<T>,
  defaults: T,
  overrides: unknown = {},
): T {
  return validateConfig(section, schema, mergeDeep(defaults, overrides ?? {}, section));
}

function mergeDeep(base: unknown, over: unknown, path: string): unknown {
  if (typeof over !== "object" || over === null || Array.isArray(over)) {
    if (over === undefined) return base;
    if (typeof base === "object" && base !== null && !Array.isArray(base)) {
      throw new ConfigError(`${path || "config"} must be an object, got ${show(over)}`);
    }
    return over;
  }
  if (typeof base !== "object" || base === null || Array.isArray(base)) return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) {
    out[k] = k in out ? mergeDeep(out[k], v, path ? `${path}.${k}` : k) : v;
  }
  return out;
}

/** Render a schema as Markdown lines `field — doc (allowed)`, for help texts and README. */
export function describeSchema<T>(schema: Schema<T>, prefix = ""): string[] {
  const lines: string[] = [];
  for (const [key, spec] of Object.entries(schema) as [string, FieldSpec][]) {
    if (spec.type === "section") {
      lines.push(...describeSchema(spec.schema, `${prefix}${key}.`));
    } else lines.push(`${prefix}${key} — ${spec.doc} (${allowed(spec)})`);
  }
  return lines;
}
