/**
 * `deno run --allow-read tools/slurm/compare_summaries.ts <a/summary.csv> <b/summary.csv>
 *  [--ignore col1,col2]`: do two sweep summaries hold the same runs with the same values?
 *
 * Compares by content, not bytes: rows are matched by `run_id` (their order does not
 * matter), every column the two files share is compared value by value (numbers as
 * numbers, exactly: same config + seed + backend gives the same numbers), and a column only
 * one file has is a difference. Columns that name a time, date, host or duration are
 * skipped (they differ between any two runs), as are those given with `--ignore`.
 * Exits 0 when they agree, 1 with one line per difference (at most 20) when not, 2 on bad
 * input.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { readCsvTable } from "../../lib/sweep/results_table.ts";
import { ConfigError } from "../../lib/util/errors.ts";
import { runCli } from "../../experiments/cli.ts";

/** Columns skipped by default: they record when, where or how long, not what. */
export const VOLATILE_COLUMN = /(^|_)(time|seconds|elapsed|date|host|hostname)($|_)/;

type Row = Record<string, unknown>;

/** `a` and `b` as the same value: equal numbers, or equal text (empty and null alike). */
function same(a: unknown, b: unknown): boolean {
  const blank = (x: unknown) => x === null || x === undefined || x === "";
  if (blank(a) || blank(b)) return blank(a) && blank(b);
  if (typeof a === "number" || typeof b === "number") return Number(a) === Number(b);
  return String(a) === String(b);
}

/**
 * The differences between two summaries' rows, as lines (empty when they agree).
 * @param ignore columns not to compare (besides {@link VOLATILE_COLUMN}).
 */
export function summaryDifferences(
  a: { columns: string[]; rows: Row[] },
  b: { columns: string[]; rows: Row[] },
  ignore: readonly string[] = [],
): string[] {
  const out: string[] = [];
  const skip = (c: string) => ignore.includes(c) || VOLATILE_COLUMN.test(c);
  for (const c of a.columns) {
    if (!b.columns.includes(c) && !skip(c)) out.push(`column ${c} only in the first`);
  }
  for (const c of b.columns) {
    if (!a.columns.includes(c) && !skip(c)) out.push(`column ${c} only in the second`);
  }
  const shared = a.columns.filter((c) => b.columns.includes(c) && !skip(c) && c !== "run_id");
  const byId = (rows: Row[], which: string) => {
    const m = new Map<string, Row>();
    for (const r of rows) {
      const id = String(r.run_id);
      if (m.has(id)) out.push(`run ${id} twice in the ${which}`);
      m.set(id, r);
    }
    return m;
  };
  const ra = byId(a.rows, "first"), rb = byId(b.rows, "second");
  for (const id of ra.keys()) if (!rb.has(id)) out.push(`run ${id} only in the first`);
  for (const id of rb.keys()) if (!ra.has(id)) out.push(`run ${id} only in the second`);
  for (const [id, x] of ra) {
    const y = rb.get(id);
    if (!y) continue;
    for (const c of shared) {
      if (!same(x[c], y[c])) {
        out.push(`run ${id}: ${c} is ${x[c]} in the first, ${y[c]} in the second`);
      }
    }
  }
  return out;
}

async function load(path: string): Promise<{ columns: string[]; rows: Row[] }> {
  const t = await readCsvTable(path);
  if (!t.columnNames().includes("run_id")) {
    throw new ConfigError(`${path} has no run_id column; is it a sweep summary?`);
  }
  return { columns: t.columnNames(), rows: t.objects() as Row[] };
}

if (import.meta.main) {
  await runCli(async () => {
    const { values, positionals } = parseArgs({
      args: Deno.args,
      options: { ignore: { type: "string" } },
      allowPositionals: true,
    });
    if (positionals.length !== 2) {
      throw new ConfigError("usage: compare_summaries.ts <a.csv> <b.csv> [--ignore col1,col2]");
    }
    const [pa, pb] = positionals as [string, string];
    const [a, b] = [await load(pa), await load(pb)];
    const diffs = summaryDifferences(a, b, values.ignore?.split(",") ?? []);
    if (diffs.length) {
      console.log(`${pa} and ${pb} differ:`);
      for (const d of diffs.slice(0, 20)) console.log(`  ${d}`);
      if (diffs.length > 20) console.log(`  … and ${diffs.length - 20} more`);
      return 1;
    }
    console.log(`same runs and values: ${a.rows.length} runs × ${a.columns.length} columns`);
    return 0;
  });
}
