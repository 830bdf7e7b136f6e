/**
 * Splitting a sweep across machines: `--shard i/n` runs every n-th grid point starting at
 * i, so a Slurm array (`--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`) or a
 * Kubernetes Indexed Job (`--shard $JOB_COMPLETION_INDEX/<completions>`) covers the grid
 * exactly once.
 *
 * Points are assigned by their index in the expanded grid, which is a pure function of the
 * experiment and its arguments (see `expandGrid`), so every shard computes the same
 * assignment without talking to the others, and shards differ in size by at most one.
 *
 * @module
 */
import { ConfigError, show } from "../util/errors.ts";

/** One shard of `count`: this process runs the points with `index mod count == index`. */
export interface Shard {
  /** 0-based shard index, `0 <= index < count`. */
  index: number;
  /** Number of shards. */
  count: number;
}

const SHARD_FORMAT = "i/n with integers 0 <= i < n (e.g. 0/4)";

/**
 * Parse `"i/n"`.
 * @throws ConfigError naming the value and the format when it is not `i/n` with `0 <= i < n`.
 * @example
 * ```ts
 * import { parseShard } from "./shard_assignment.ts";
 * const s = parseShard("1/4");
 * if (s.index !== 1 || s.count !== 4) throw new Error();
 * ```
 */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new ConfigError(`--shard must be ${SHARD_FORMAT}, got ${show(text)}`);
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  checkShard(shard.index, shard.count, text);
  return shard;
}

function checkShard(index: number, count: number, given: unknown): void {
  const ok = Number.isSafeInteger(index) && Number.isSafeInteger(count) && count >= 1 &&
    index >= 0 && index < count;
  if (!ok) {
    throw new ConfigError(`--shard must be ${SHARD_FORMAT}, got ${show(given)}`);
  }
}

/**
 * The items of shard `index` of `count`: those at positions `p` with `p mod count == index`.
 * Over `index = 0 .. count-1` the shards partition `items`, each item in exactly one.
 * @param items the full, deterministically ordered list (e.g. the expanded grid).
 * @param index shard index, `0 <= index < count`.
 * @param count number of shards.
 * @returns a new array, in the original order.
 */
export function shardItems<T>(items: readonly T[], index: number, count: number): T[] {
  checkShard(index, count, `${index}/${count}`);
  return items.filter((_, p) => p % count === index);
}
