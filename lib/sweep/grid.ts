/**
 * Grids over any config field. A grid is a list of axes, each a dotted config path with
 * the values it takes; its points are the cartesian product, the first axis varying
 * slowest (like nested loops written in command-line order). Presets declare axes, the
 * command line replaces them (`--ppo.beta 0.05,0.1`) or pins one value (`--ppo.beta 0.1`
 * removes the axis), and every point becomes one complete config.
 *
 * @module
 */
import { ConfigError, show } from "../util/errors.ts";

/** One grid axis: the config field (dotted path) and the values it takes, in order. */
export interface GridAxis {
  /** Dotted path into the config, e.g. `ppo.beta`. */
  path: string;
  /** The values, at least one, no two equal. */
  values: readonly unknown[];
}

/** One point of a grid: a value for each axis, by dotted path. */
export type GridPoint = Readonly<Record<string, unknown>>;

/**
 * The grid's points, first axis slowest. No axes give one empty point.
 * @example
 * ```ts
 * import { gridPoints } from "./grid.ts";
 * const pts = gridPoints([{ path: "seed", values: [1, 2] }, { path: "ppo.beta", values: [0.1, 1] }]);
 * if (pts.length !== 4 || pts[1]!["ppo.beta"] !== 1) throw new Error();
 * ```
 */
export function gridPoints(axes: readonly GridAxis[]): GridPoint[] {
  let points: Record<string, unknown>[] = [{}];
  for (const axis of axes) {
    const next: Record<string, unknown>[] = [];
    for (const p of points) for (const v of axis.values) next.push({ ...p, [axis.path]: v });
    points = next;
  }
  return points;
}

/** The number of points of a grid (the product of the axes' lengths). */
export function gridSize(axes: readonly GridAxis[]): number {
  return axes.reduce((n, a) => n * a.values.length, 1);
}

/**
 * Combine a preset's axes with the command line's assignments: a command-line list
 * replaces the preset's axis of that field in place (or is appended), a single
 * command-line value pins the field and removes its axis.
 * @param preset the preset's axes.
 * @param assigned the command line's values by dotted path (one value: pinned).
 * @returns the axes that remain, with at least two values each or from the preset.
 */
export function mergeAxes(
  preset: readonly GridAxis[],
  assigned: readonly GridAxis[],
): GridAxis[] {
  const byPath = new Map(assigned.map((a) => [a.path, a]));
  const out: GridAxis[] = [];
  for (const axis of preset) {
    const over = byPath.get(axis.path);
    if (!over) out.push(axis);
    else if (over.values.length > 1) out.push(over);
  }
  for (const a of assigned) {
    if (a.values.length > 1 && !preset.some((p) => p.path === a.path)) out.push(a);
  }
  return out;
}

/**
 * A deep copy of `base` with each of the point's fields set.
 * @throws ConfigError when a path is not a field of `base`.
 */
export function applyPoint<T>(base: T, point: GridPoint): T {
  const copy = structuredClone(base) as Record<string, unknown>;
  for (const [path, value] of Object.entries(point)) {
    const parts = path.split(".");
    let cur: Record<string, unknown> = copy;
    for (const part of parts.slice(0, -1)) {
      const next = cur[part];
      if (typeof next !== "object" || next === null || Array.isArray(next)) {
        throw new ConfigError(`grid axis ${path} is not a field of the config`);
      }
      cur = next as Record<string, unknown>;
    }
    const last = parts.at(-1)!;
    if (!(last in cur)) throw new ConfigError(`grid axis ${path} is not a field of the config`);
    cur[last] = value;
  }
  return copy as T;
}

/**
 * Check that no axis repeats a value: `--seed 1,1` or `--ppo.beta 0.1,0.10` would run the
 * same config twice and fake replication.
 * @throws ConfigError naming the field and the repeated value.
 */
export function checkDistinct(axes: readonly GridAxis[]): void {
  for (const a of axes) {
    const keys = a.values.map((v) => JSON.stringify(v));
    const dup = keys.findIndex((k, i) => keys.indexOf(k) !== i);
    if (dup >= 0) {
      throw new ConfigError(
        `--${a.path}: ${show(a.values[dup])} appears twice in the grid (${
          a.values.map((v) => show(v)).join(",")
        }); each value must differ`,
      );
    }
  }
}
