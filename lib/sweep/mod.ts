/**
 * Sweeps: cached, verified, resumable stages; expiring locks; CLI overrides and grids;
 * sharding and merge checks; a process pool with least-privilege workers; results
 * tables; resource checks and the sweeping of leftovers. This folder owns the filesystem
 * (see docs/architecture.md, "Results layout").
 *
 * @module
 */
export * from "./checkpoint_keeper.ts";
export * from "./checksums.ts";
export * from "./grid.ts";
export * from "./hash.ts";
export * from "./json_file.ts";
export * from "./lock.ts";
export * from "./lock_holder.ts";
export * from "./overrides.ts";
export * from "./paths.ts";
export * from "./permissions.ts";
export * from "./pool.ts";
export * from "./publish_run.ts";
export * from "./resources.ts";
export * from "./results_table.ts";
export * from "./run_failure.ts";
export * from "./run_record.ts";
export * from "./run_tables.ts";
export * from "./shard_assignment.ts";
export * from "./shard_check.ts";
export * from "./shard_record.ts";
export * from "./stage_cache.ts";
export * from "./temp_files.ts";
export * from "../util/table_format.ts";
