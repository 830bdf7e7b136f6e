/**
 * Sweeps: cached, resumable stages; CLI overrides and grids; sharding; a process pool;
 * results tables. This folder owns the filesystem (see docs/architecture.md,
 * "Results layout").
 *
 * @module
 */
export * from "./grid.ts";
export * from "./hash.ts";
export * from "./json_file.ts";
export * from "./lock.ts";
export * from "./overrides.ts";
export * from "./pool.ts";
export * from "./results_table.ts";
export * from "./run_record.ts";
export * from "./run_tables.ts";
export * from "./shard.ts";
export * from "./stage_cache.ts";
export * from "../util/table_format.ts";
