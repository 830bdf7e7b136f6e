/**
 * Checking a sharded sweep's shard files before `deno task merge` merges them
 * ({@link checkShards}): only a complete set of untouched shards of one grid is merged, and
 * what is missing, duplicated, stale or mismatched is named. The files are those of
 * shard_record.ts; which runs a shard holds, shard_assignment.ts.
 *
 * @module
 */
import { join } from "node:path";
import type { ColumnTable } from "arquero";
import { FileFormatError, show } from "../util/errors.ts";
import { sha256Hex } from "./checksums.ts";
import { checkRunId, isRunId } from "./paths.ts";
import { readCsvTable } from "./results_table.ts";
import { shardItems } from "./shard_assignment.ts";
import { shardFiles, type ShardRecord } from "./shard_record.ts";

/** What {@link checkShards} found. */
export interface ShardCheck {
  /** Rows of the shards that passed, in shard order. */
  rows: Record<string, unknown>[];
  /** The grid's hash. */
  grid: string;
  /** Number of shards. */
  count: number;
  /** Shards merged (indexes). */
  merged: number[];
  /** Runs of the grid not in `rows`: missing or failed shards, failed runs. */
  missing: string[];
  /** One line per shard left out or run missing (what `--allow-partial` accepted). */
  problems: string[];
}

const SHARD_FILE = /^summary\.shard-(\d+)-of-(\d+)\.(csv|json)$/;

/**
 * Check a sharded sweep's shard files before merging: every shard of one grid is there
 * once, each CSV is the one its record describes (its SHA-256, columns and run ids), its
 * rows agree with the run directories published beside it, and no run failed.
 * @param root the experiment's results directory.
 * @param opts `allowPartial`: leave out missing, failed, changed or stale shards and runs
 *   (listed in `missing` and `problems`) instead of refusing.
 * @throws FileFormatError in one line naming the shard files and what is wrong with them
 *   (and `--allow-partial` when that would merge the rest); always when shard files of
 *   different grids are mixed, or there are none.
 */
export async function checkShards(
  root: string,
  opts: { allowPartial?: boolean } = {},
): Promise<ShardCheck> {
  const found = new Map<string, { csv?: string; record?: string; index: number; count: number }>();
  try {
    for await (const e of Deno.readDir(root)) {
      const m = e.isFile ? SHARD_FILE.exec(e.name) : null;
      if (!m) continue;
      const key = `${m[1]}/${m[2]}`;
      const f = found.get(key) ?? { index: Number(m[1]), count: Number(m[2]) };
      if (m[3] === "csv") f.csv = e.name;
      else f.record = e.name;
      found.set(key, f);
    }
  } catch {
    throw new FileFormatError(`${root} is not a results directory`);
  }
  if (!found.size) throw new FileFormatError(`${root} has no summary.shard-*.csv files to merge`);

  const problems: string[] = [];
  const valid: { record: ShardRecord; csvName: string; rows: Record<string, unknown>[] }[] = [];
  for (const f of [...found.values()].sort((a, b) => a.count - b.count || a.index - b.index)) {
    const name = f.csv ?? f.record!;
    const bad = (why: string) => problems.push(`${name} ${why}`);
    if (!f.record) {
      bad(
        `has no ${shardFiles(f.index, f.count).record} record (an older kit, a shard ` +
          `killed while writing it, or copied without it): rerun shard ${f.index}/${f.count}`,
      );
      continue;
    }
    if (!f.csv) {
      bad(`has no ${shardFiles(f.index, f.count).csv}: rerun shard ${f.index}/${f.count}`);
      continue;
    }
    let record: ShardRecord;
    try {
      record = validRecord(JSON.parse(await Deno.readTextFile(join(root, f.record))));
    } catch (e) {
      bad(`has an unreadable record ${f.record} (${(e as Error).message})`);
      continue;
    }
    if (record.index !== f.index || record.count !== f.count) {
      bad(`holds shard ${record.index}/${record.count} by its record (renamed?)`);
      continue;
    }
    const bytes = await Deno.readFile(join(root, f.csv));
    if ((await sha256Hex(bytes)) !== record.sha256) {
      bad(
        `was changed after its shard wrote it (its SHA-256 differs from ${f.record}): ` +
          await describeChange(join(root, f.csv), record),
      );
      continue;
    }
    const rows = (await readCsvTable(join(root, f.csv))).objects() as Record<string, unknown>[];
    const stale = await staleRows(root, rows);
    if (stale.length) {
      bad(
        `is stale: its rows of ${stale.join(", ")} differ from their published run ` +
          `directories: rerun shard ${f.index}/${f.count}`,
      );
      continue;
    }
    valid.push({ record, csvName: f.csv, rows });
  }

  const grids = new Map<string, typeof valid>();
  for (const v of valid) {
    const k = `${v.record.grid} ${v.record.count}`;
    grids.set(k, [...(grids.get(k) ?? []), v]);
  }
  if (grids.size > 1) {
    throw new FileFormatError(
      `${root} mixes shard files of different grids: ` +
        [...grids.values()].map((g) =>
          `${g.map((v) => v.csvName).join(", ")} (${g[0]!.record.count} shards of grid ` +
          `${g[0]!.record.grid.slice(0, 8)}, written ${
            g.map((v) => v.record.written).sort().at(-1)
          })`
        ).join(" vs ") + `; remove the stale shard files`,
    );
  }
  const shards = [...grids.values()][0] ?? [];
  if (!shards.length) {
    throw new FileFormatError(`cannot merge ${root}: ${problems.join("; ")}`);
  }
  const { grid, count, gridRuns } = shards[0]!.record;
  const merged: number[] = [];
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const meant = shardItems(gridRuns, i, count);
    const here = shards.filter((s) => s.record.index === i);
    const s = here[0];
    if (!s) {
      if (!problems.some((p) => p.startsWith(shardFiles(i, count).csv))) {
        problems.push(`shard ${i}/${count} (${shardFiles(i, count).csv}) is missing`);
      }
      continue;
    }
    if (JSON.stringify(s.record.runs) !== JSON.stringify(meant)) {
      problems.push(`${s.csvName} does not hold the runs its grid assigns to shard ${i}/${count}`);
      continue;
    }
    if (s.record.failed.length) {
      problems.push(
        `shard ${i}/${count}: ${s.record.failed.length} run(s) failed: ` +
          s.record.failed.join(", "),
      );
    }
    merged.push(i);
    rows.push(...s.rows);
  }
  const got = new Set(rows.map((r) => r.run_id));
  const missing = gridRuns.filter((id) => !got.has(id));
  if (problems.length && !opts.allowPartial) {
    throw new FileFormatError(
      `cannot merge ${root}: ${problems.join("; ")}` +
        (missing.length
          ? `; ${missing.length} of ${gridRuns.length} runs would be missing ` +
            `(--allow-partial merges the rest and lists them)`
          : ""),
    );
  }
  return { rows, grid, count, merged, missing, problems };
}

function validRecord(v: unknown): ShardRecord {
  const r = v as ShardRecord;
  const ids = (x: unknown) => Array.isArray(x) && x.every((s) => typeof s === "string");
  if (
    !r || r.format !== 1 || typeof r.grid !== "string" || !Number.isSafeInteger(r.index) ||
    !Number.isSafeInteger(r.count) || !ids(r.gridRuns) || !ids(r.runs) || !ids(r.failed) ||
    !ids(r.columns) || typeof r.sha256 !== "string"
  ) {
    throw new Error("not a shard record of this kit");
  }
  for (const id of [...r.gridRuns, ...r.runs, ...r.failed]) checkRunId(id, "run id");
  return r;
}

/** What differs between a changed shard CSV and its record, in words. */
async function describeChange(path: string, record: ShardRecord): Promise<string> {
  let table: ColumnTable;
  try {
    table = await readCsvTable(path);
  } catch (e) {
    return (e as Error).message;
  }
  const cols = table.columnNames();
  const lostCols = record.columns.filter((c) => !cols.includes(c));
  const newCols = cols.filter((c) => !record.columns.includes(c));
  if (lostCols.length || newCols.length) {
    return `columns ${lostCols.map(show).join(", ") || "none"} are gone and ` +
      `${newCols.map(show).join(", ") || "none"} are new (renamed?)`;
  }
  const want = record.runs.filter((id) => !record.failed.includes(id));
  const ids = cols.includes("run_id") ? table.array("run_id") as unknown[] : [];
  const lost = want.filter((id) => !ids.includes(id));
  const extra = ids.filter((id) => !want.includes(id as string));
  if (lost.length) return `rows of ${lost.join(", ")} are missing`;
  if (extra.length) return `rows of ${extra.map(String).join(", ")} are not its runs`;
  return "values were edited";
}

/** Ids of rows that differ from the summary.csv of a published run directory beside them. */
async function staleRows(root: string, rows: Record<string, unknown>[]): Promise<string[]> {
  const out: string[] = [];
  for (const row of rows) {
    const id = row.run_id;
    if (!isRunId(id)) {
      out.push(String(id));
      continue;
    }
    const dir = join(root, id);
    let published: Record<string, unknown>;
    try {
      if (!(await Deno.stat(join(dir, "manifest.json")).then((s) => s.isFile, () => false))) {
        continue;
      }
      published = ((await readCsvTable(join(dir, "summary.csv"))).objects()[0] ?? {}) as Record<
        string,
        unknown
      >;
    } catch {
      continue;
    }
    const same = Object.entries(published).every(([k, v]) =>
      String(v ?? "") === String(row[k] ?? "")
    );
    if (!same) out.push(id);
  }
  return out;
}
