/**
 * Stacking tables row-wise with the union of their columns.
 *
 * arquero's `concat` keeps only the first table's columns, so stacking a PPO run's metrics
 * before a DPO run's silently drops `loss/dpo` and `rewards/*`. {@link stackTables} keeps
 * every column, in first-seen order, and leaves a cell empty (null) where its table lacks
 * the column.
 *
 * @module
 */
import * as aq from "arquero";
import type { ColumnTable } from "arquero";

/**
 * Concatenate tables row-wise; columns are the union over all tables in first-seen order,
 * and a column a table lacks is null in that table's rows.
 * @param tables the tables, stacked in this order (none: an empty table).
 * @returns a new table with the sum of the row counts.
 * @example
 * ```ts
 * import * as aq from "arquero";
 * import { stackTables } from "./stack_tables.ts";
 * const ppo = aq.table({ step: [1], "loss/policy": [0.5] });
 * const dpo = aq.table({ step: [1], "loss/dpo": [0.69] });
 * const both = stackTables([ppo, dpo]);
 * if (both.columnNames().join() !== "step,loss/policy,loss/dpo") throw new Error();
 * if (both.get("loss/dpo", 0) !== null || both.get("loss/dpo", 1) !== 0.69) throw new Error();
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
