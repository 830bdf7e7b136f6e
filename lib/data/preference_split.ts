/**
 * Splitting preference data into train and validation sets by prompt.
 *
 * @module
 */
import type * as aq from "arquero";
import { Rng } from "../util/rng.ts";
import { checkField } from "../util/schema.ts";

/**
 * Split preference rows into train and validation sets **by prompt**, so no validation
 * prompt is seen in training (pairs of one prompt share it and are strongly correlated).
 * The unique prompts are shuffled with `seed`; the first round(valFraction · #prompts)
 * (at least one when valFraction > 0, at most all but one) go to validation. Rows keep
 * their order within each part. Deterministic in (table, valFraction, seed).
 * @throws ConfigError unless 0 ≤ valFraction < 1.
 */
export function splitPreferences(
  table: aq.ColumnTable,
  valFraction: number,
  seed: number,
): { train: aq.ColumnTable; val: aq.ColumnTable } {
  checkField("valFraction", valFraction, {
    type: "number",
    min: 0,
    lt: 1,
    doc: "validation share",
  });
  const prompts = table.array("prompt") as unknown as ArrayLike<string>;
  const unique = [...new Set(Array.from(prompts))];
  new Rng(seed).shuffle(unique);
  let nVal = Math.round(valFraction * unique.length);
  if (valFraction > 0 && unique.length >= 2) nVal = Math.max(1, nVal);
  nVal = Math.min(nVal, Math.max(unique.length - 1, 0));
  const valPrompts = new Set(unique.slice(0, nVal));
  const train: number[] = [], val: number[] = [];
  for (let i = 0; i < prompts.length; i++) (valPrompts.has(prompts[i]!) ? val : train).push(i);
  return { train: table.reify(train), val: table.reify(val) };
}
