/**
 * What a shard leaves: `summary.shard-i-of-n.csv` and a record beside it
 * (`summary.shard-i-of-n.json`, {@link ShardRecord}): the grid's hash, the shard's index
 * and count, the run ids it was meant to produce (and the whole grid's), its failed runs,
 * and the CSV's SHA-256. The record is written last and commits the shard; merging checks
 * it (shard_check.ts).
 *
 * @module
 */
import { join } from "node:path";
import type { ColumnTable } from "arquero";
import { writeBytesAtomic, writeTextAtomic } from "../util/atomic_write.ts";
import { sha256Hex } from "./checksums.ts";
import { hashKey } from "./hash.ts";
import { shardItems } from "./shard_assignment.ts";

/** The record written beside a shard's summary CSV (`summary.shard-i-of-n.json`). */
export interface ShardRecord {
  /** Format of this record. */
  format: 1;
  /** The grid's identity: a hash of the run ids of the whole grid (ids carry config keys). */
  grid: string;
  /** Shard index. */
  index: number;
  /** Number of shards. */
  count: number;
  /** Run ids of the whole grid, in plan order (shard i has those at positions ≡ i mod n). */
  gridRuns: string[];
  /** Run ids this shard was meant to produce. */
  runs: string[];
  /** Runs of this shard that failed (absent from its CSV). */
  failed: string[];
  /** The CSV's columns. */
  columns: string[];
  /** SHA-256 of the CSV's bytes. */
  sha256: string;
  /** When the shard finished (ISO 8601). */
  written: string;
}

/** File names of shard `index` of `count`: its summary CSV and its record. */
export function shardFiles(index: number, count: number): { csv: string; record: string } {
  const stem = `summary.shard-${index}-of-${count}`;
  return { csv: `${stem}.csv`, record: `${stem}.json` };
}

/** The grid hash of a list of run ids (order-free). */
export function gridHash(runIds: readonly string[]): Promise<string> {
  return hashKey([...runIds].sort());
}

/**
 * Write a shard's summary rows (CSV, atomically) and then its record, which commits it: a
 * shard killed in between leaves a CSV without a record, which merge refuses.
 * @param root the experiment's results directory.
 * @param table the shard's summary (one row per finished run, a `run_id` column).
 * @param o the grid (all run ids, plan order), this shard, and its failed runs.
 */
export async function writeShardSummary(
  root: string,
  table: ColumnTable,
  o: { gridRuns: readonly string[]; index: number; count: number; failed: readonly string[] },
): Promise<ShardRecord> {
  const files = shardFiles(o.index, o.count);
  const columns = table.numCols() ? table.columnNames() : ["run_id"];
  let csv = table.numCols() ? table.toCSV() : "run_id";
  if (!csv.endsWith("\n")) csv += "\n";
  const bytes = new TextEncoder().encode(csv);
  await writeBytesAtomic(join(root, files.csv), bytes);
  const record: ShardRecord = {
    format: 1,
    grid: await gridHash(o.gridRuns),
    index: o.index,
    count: o.count,
    gridRuns: [...o.gridRuns],
    runs: shardItems(o.gridRuns, o.index, o.count),
    failed: [...o.failed],
    columns,
    sha256: await sha256Hex(bytes),
    written: new Date().toISOString(),
  };
  await writeTextAtomic(join(root, files.record), JSON.stringify(record, null, 2) + "\n");
  return record;
}
