/**
 * Reading what runs left on disk as tables: step metrics of many runs stacked into one
 * table, evaluation samples, and the differences between run configs.
 *
 * @module
 */
import { join } from "node:path";
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import { readCsvTable } from "./results_table.ts";
import { FileFormatError } from "../util/errors.ts";

/**
 * Stack tables row-wise keeping the union of their columns (in order of first appearance);
 * a table without a column gets null there. arquero's own `concat` keeps only the first
 * table's columns, which silently drops e.g. DPO's `loss/dpo` after a PPO run's metrics.
 * @example
 * ```ts
 * import * as aq from "arquero";
 * import { stackTables } from "./run_tables.ts";
 * const t = stackTables([aq.table({ step: [1], "loss/policy": [0.5] }), aq.table({ step: [1], "loss/dpo": [0.7] })]);
 * if (t.columnNames().join() !== "step,loss/policy,loss/dpo" || t.numRows() !== 2) throw new Error();
 * ```
 */
export function stackTables(tables: readonly ColumnTable[]): ColumnTable {
  const names: string[] = [];
  for (const t of tables) for (const c of t.columnNames()) if (!names.includes(c)) names.push(c);
  const columns: Record<string, unknown[]> = {};
  for (const c of names) {
    const out: unknown[] = [];
    for (const t of tables) {
      const n = t.numRows();
      if (t.columnNames().includes(c)) {
        const values = t.array(c) as ArrayLike<unknown>;
        for (let i = 0; i < n; i++) out.push(values[i] ?? null);
      } else {
        for (let i = 0; i < n; i++) out.push(null);
      }
    }
    columns[c] = out;
  }
  return aq.table(columns, names);
}

/**
 * The step metrics (`metrics.csv`) of the given runs under `root`, stacked with a `run_id`
 * column. Runs without step metrics (best-of-n) are left out.
 * @returns undefined when no run has more than one logged step.
 */
export async function readRunCurves(
  root: string,
  ids: readonly string[],
): Promise<ColumnTable | undefined> {
  const tables: ColumnTable[] = [];
  for (const id of ids) {
    const path = join(root, id, "metrics.csv");
    if (!(await Deno.stat(path).then((s) => s.isFile, () => false))) continue;
    const t = await readCsvTable(path);
    if (t.numRows() > 1) tables.push(t.derive({ run_id: aq.escape(() => id) }));
  }
  return tables.length ? stackTables(tables) : undefined;
}

/**
 * The samples a run wrote (`samples.jsonl`), optionally only one kind (`"eval"`: the
 * held-out evaluation completions; `"train"`: a few per logged training step).
 * @throws FileFormatError naming the file and line of a line that is not JSON.
 */
export async function readRunSamples(runDir: string, kind?: string): Promise<ColumnTable> {
  const path = join(runDir, "samples.jsonl");
  const text = await Deno.readTextFile(path).catch(() => {
    throw new FileFormatError(`${path} cannot be read: a finished run has samples.jsonl`);
  });
  const rows: Record<string, unknown>[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    try {
      const row = JSON.parse(line) as Record<string, unknown>;
      if (kind === undefined || row.kind === kind) rows.push(row);
    } catch (e) {
      throw new FileFormatError(`${path} line ${i + 1} is not JSON: ${(e as Error).message}`);
    }
  });
  return stackTables(rows.map((r) => aq.from([r])));
}

/** Nested config objects as dotted keys (`ppo.beta`); lists joined with commas. */
export function flattenConfig(
  obj: unknown,
  prefix = "",
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  if (obj && typeof obj === "object" && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = Array.isArray(obj) ? obj.join(",") : obj;
  return out;
}

/** A named config, for {@link configDifferences}. */
export interface NamedConfig {
  /** Column name in the result (a run id, a sweep's label). */
  name: string;
  /** The config, flattened ({@link flattenConfig}). */
  config: Record<string, unknown>;
}

/**
 * The keys whose values differ between configs, as rows `{key, <name>: value…}` sorted by
 * key; a key missing from one config shows as an empty string there.
 */
export function configDifferences(configs: readonly NamedConfig[]): Record<string, unknown>[] {
  const keys = [...new Set(configs.flatMap((s) => Object.keys(s.config)))].sort();
  return keys
    .filter((k) => new Set(configs.map((s) => JSON.stringify(s.config[k] ?? null))).size > 1)
    .map((k) => ({
      key: k,
      ...Object.fromEntries(configs.map((s) => [s.name, s.config[k] ?? ""])),
    }));
}
