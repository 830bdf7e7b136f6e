/**
 * Command-line overrides for experiments: `--ppo.beta 0.05,0.1 --seed 1,2,3 --jobs 4`.
 *
 * Every `--dotted.key value` (or `--dotted.key=value`) names a field of the experiment's
 * {@link Schema}; its value is coerced to the field's type and checked against the spec, so
 * a typo fails before any run starts. A comma list on a scalar field (number, boolean,
 * enum, string) is a grid axis (lib/sweep/grid.ts takes the cartesian product); on list
 * fields (`numberList`, `stringList`) a comma list is the one list value instead. Values
 * are checked one by one here; a grid that repeats a value, a number that underflows to 0
 * or overflows to Infinity, is an error.
 *
 * Reserved options (not config fields): `--preset NAME`, `--jobs N`, `--shard i/n`,
 * `--results DIR`, and the flags `--dry-run`, `--yes` (run a large grid) and `--help`
 * (`-h`). Other tokens that do
 * not start with `--` are positional; everything after a bare `--` is positional too.
 *
 * Limits: a string value cannot contain a comma (it would be read as a grid), and config
 * booleans take an explicit `true`/`false` so that `--ppo.whiten --seed 1` cannot be
 * misread.
 *
 * @module
 */
import { ConfigError, show } from "../util/errors.ts";
import { allowed, type FieldSpec, type Schema } from "../util/schema.ts";
import { parseShard, type Shard } from "./shard_assignment.ts";
import type { GridAxis } from "./grid.ts";
import { coerce, parseBool } from "./_override_values.ts";

/** Options that steer the sweep rather than the experiment's config. */
export interface SweepOptions {
  /** `--preset NAME`: a named set of defaults from the experiment (e.g. `quick`). */
  preset?: string;
  /** `--jobs N`: runs in parallel; the pool defaults to `navigator.hardwareConcurrency`. */
  jobs?: number;
  /** `--shard i/n`: run only this shard of the grid. */
  shard?: Shard;
  /** `--results DIR`: results root directory. */
  results?: string;
  /** `--dry-run`: list the runs without running them. */
  dryRun: boolean;
  /** `--yes`: run a grid larger than the sweep would run without asking. */
  yes: boolean;
  /** `--help` or `-h`. */
  help: boolean;
}

/** What {@link parseOverrides} returns. */
export interface ParsedArgs {
  /** Sweep options (reserved names). */
  options: SweepOptions;
  /** Single-valued overrides as a nested object, ready for `resolveConfig`. */
  overrides: Record<string, unknown>;
  /** Multi-valued fields, in command-line order. */
  grid: GridAxis[];
  /** Tokens that are not `--key value` pairs (e.g. an experiment name). */
  positional: string[];
}

/** Options of {@link parseOverrides}. */
export interface ParseOptions {
  /** Dotted paths of scalar fields that must take a single value (no grid). */
  noGrid?: readonly string[];
}

/** The reserved option names; these take precedence over config fields of the same name. */
export const OPTION_NAMES = [
  "preset",
  "jobs",
  "shard",
  "results",
  "dry-run",
  "yes",
  "help",
] as const;

const FLAGS = new Set(["dry-run", "yes", "help"]);

/**
 * Parse command-line arguments against an experiment schema.
 * @param args e.g. `Deno.args`.
 * @param schema the experiment's config schema (sections allowed).
 * @throws ConfigError whose message names the argument, the bad value and what is allowed.
 * @example
 * ```ts
 * import { parseOverrides } from "./overrides.ts";
 * const schema = {
 *   seed: { type: "number", int: true, doc: "seed" },
 *   ppo: { type: "section", doc: "PPO", schema: { beta: { type: "number", gt: 0, doc: "β" } } },
 * } as const;
 * const p = parseOverrides(["--ppo.beta", "0.05,0.1", "--seed=3"], schema);
 * if (p.grid[0]?.path !== "ppo.beta" || p.overrides.seed !== 3) throw new Error();
 * ```
 */
export function parseOverrides<T>(
  args: readonly string[],
  schema: Schema<T>,
  opts: ParseOptions = {},
): ParsedArgs {
  const out: ParsedArgs = {
    options: { dryRun: false, yes: false, help: false },
    overrides: {},
    grid: [],
    positional: [],
  };
  const seen = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const tok = args[i]!;
    if (tok === "--") {
      out.positional.push(...args.slice(i + 1));
      break;
    }
    if (tok === "-h") {
      out.options.help = true;
      continue;
    }
    if (!tok.startsWith("--")) {
      out.positional.push(tok);
      continue;
    }
    const eq = tok.indexOf("=");
    const key = eq < 0 ? tok.slice(2) : tok.slice(2, eq);
    let raw: string | undefined = eq < 0 ? undefined : tok.slice(eq + 1);
    if (key === "") throw new ConfigError(`${show(tok)} has no key name; use --key value`);
    if (!FLAGS.has(key) && raw === undefined) {
      const next = args[i + 1];
      if (next === undefined || next.startsWith("--")) throw missingValue(key, schema);
      raw = next;
      i++;
    }
    const before = seen.get(key);
    if (before !== undefined) {
      // Options take one value: a comma list is a grid only for config fields.
      const isOption = (OPTION_NAMES as readonly string[]).includes(key);
      throw new ConfigError(
        `--${key} is given twice (${show(before)} and ${show(raw ?? "")}); give it once` +
          (isOption ? "" : `, with a comma list for a grid: --${key} ${before},${raw ?? ""}`),
      );
    }
    seen.set(key, raw ?? "");
    if ((OPTION_NAMES as readonly string[]).includes(key)) {
      setOption(out.options, key, raw);
      continue;
    }
    const spec = lookup(schema, key);
    const values = coerce(key, raw!, spec);
    if (values.length > 1) {
      if (opts.noGrid?.includes(key)) {
        throw new ConfigError(
          `--${key} ${raw} is a grid, but ${key} takes a single value (${allowed(spec)})`,
        );
      }
      out.grid.push({ path: key, values });
    } else ensurePath(out.overrides, key, values[0]);
  }
  return out;
}

function setOption(o: SweepOptions, key: string, raw: string | undefined): void {
  switch (key) {
    case "dry-run":
    case "yes":
    case "help": {
      const v = raw === undefined ? true : parseBool(raw);
      if (v === undefined) {
        throw new ConfigError(`--${key} is a flag: give it alone or as --${key}=true|false`);
      }
      if (key === "help") o.help = v;
      else if (key === "yes") o.yes = v;
      else o.dryRun = v;
      return;
    }
    case "jobs": {
      const n = Number(raw);
      if (!/^\s*\d+\s*$/.test(raw!) || !(n >= 1)) {
        throw new ConfigError(
          `--jobs must be a positive integer, got ${show(raw)}` +
            (raw!.includes(",") ? " (options cannot be grids)" : ""),
        );
      }
      o.jobs = n;
      return;
    }
    case "shard":
      o.shard = parseShard(raw!);
      return;
    case "preset":
    case "results":
      if (raw === "" || raw!.includes(",")) {
        throw new ConfigError(
          `--${key} takes one ${key === "preset" ? "preset name" : "directory"}, got ${show(raw)}` +
            (raw!.includes(",") ? " (options cannot be grids)" : ""),
        );
      }
      if (key === "preset") o.preset = raw;
      else o.results = raw;
  }
}

/** Find the spec of a dotted path, with helpful errors for unknown keys and sections. */
function lookup<T>(schema: Schema<T>, key: string): FieldSpec {
  const parts = key.split(".");
  // deno-lint-ignore no-explicit-any
  let current: Schema<any> = schema;
  for (let d = 0; d < parts.length; d++) {
    const part = parts[d]!;
    const spec = (current as Record<string, FieldSpec | undefined>)[part];
    const here = parts.slice(0, d + 1).join(".");
    if (spec === undefined) throw unknownKey(schema, key, parts.slice(0, d).join("."));
    if (spec.type === "section") {
      if (d === parts.length - 1) {
        const keys = Object.keys(spec.schema);
        throw new ConfigError(
          `--${here} is a section, not a value; set its keys, e.g. --${here}.${keys[0]} ` +
            `(${here} has: ${keys.join(", ")})`,
        );
      }
      current = spec.schema;
    } else if (d < parts.length - 1) {
      throw new ConfigError(`--${key}: ${here} is ${allowed(spec)}, not a section`);
    } else return spec;
  }
  throw unknownKey(schema, key, "");
}

function missingValue<T>(key: string, schema: Schema<T>): ConfigError {
  let what = "a value";
  if (key === "jobs") what = "a positive integer";
  else if (key === "shard") what = "i/n";
  else if (key === "preset") what = "a preset name";
  else if (key === "results") what = "a directory";
  else {
    // lookup throws first for an unknown key, which is the better message
    const spec = lookup(schema, key);
    what = allowed(spec);
  }
  return new ConfigError(`--${key} is missing its value; it takes ${what}`);
}

/** All leaf paths of a schema, dotted. */
function leafPaths<T>(schema: Schema<T>, prefix = ""): string[] {
  const out: string[] = [];
  for (const [k, spec] of Object.entries(schema) as [string, FieldSpec][]) {
    if (spec.type === "section") out.push(...leafPaths(spec.schema, `${prefix}${k}.`));
    else out.push(`${prefix}${k}`);
  }
  return out;
}

function unknownKey<T>(schema: Schema<T>, key: string, section: string): ConfigError {
  const fields = leafPaths(schema);
  const last = (p: string) => p.split(".").at(-1)!;
  const scored = [...fields, ...OPTION_NAMES]
    .map((p) => {
      const full = editDistance(key, p);
      return { p, full, d: Math.min(full, editDistance(last(key), last(p))) };
    })
    .filter(({ d }) => d <= Math.max(1, Math.floor(last(key).length / 3)))
    // Equally close field names: the one in the section typed first (every method has a β).
    .sort((a, b) => a.d - b.d || a.full - b.full || a.p.localeCompare(b.p));
  const close = scored.slice(0, 3).map(({ p }) => `--${p}`);
  const inSection = section ? fields.filter((p) => p.startsWith(`${section}.`)) : fields;
  const shown = inSection.slice(0, 40).map((p) => `--${p}`);
  if (inSection.length > shown.length) shown.push(`… (${inSection.length} in all)`);
  return new ConfigError(
    `unknown key --${key}` + (close.length ? ` (did you mean ${close.join(" or ")}?)` : "") +
      `; known keys${section ? ` in ${section}` : ""}: ${shown.join(", ")}` +
      (section ? "" : `; options: ${OPTION_NAMES.map((o) => `--${o}`).join(", ")}`),
  );
}

/** Levenshtein distance (insert, delete, substitute), for "did you mean". */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, prev[j]! + 1, cur[j - 1]! + 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

function ensurePath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur = obj;
  for (const part of parts.slice(0, -1)) {
    if (cur[part] === undefined) cur[part] = {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts.at(-1)!] = value;
}
