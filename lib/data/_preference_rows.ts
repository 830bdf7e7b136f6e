/**
 * Checking preference rows, shared by the table builder and the file reader: what is wrong
 * with each row's fields, as one line per row that the caller joins into one error.
 *
 * @module
 */
import { show } from "../util/errors.ts";
import {
  BOOLEAN_COLUMNS,
  ID_COLUMNS,
  IDS_PATTERN,
  OPTIONAL_COLUMNS,
  REQUIRED_COLUMNS,
} from "./preference_columns.ts";

/** The names of {@link BOOLEAN_COLUMNS}. */
export const BOOLEAN_NAMES = Object.keys(BOOLEAN_COLUMNS) as (keyof typeof BOOLEAN_COLUMNS)[];

/** At most this many bad rows are listed in one error message. */
export const MAX_PROBLEMS = 20;

/**
 * Append to `problems` what is wrong with one row's fields. A row read from a file is
 * also held to what a file can get wrong (`fromFile`): numbers finite and p_correct a
 * probability, chosen different from rejected; the tables code builds are checked by
 * their own consumers (e.g. `preferenceStats`).
 */
export function checkRow(
  row: Record<string, unknown>,
  where: string,
  problems: string[],
  fromFile = false,
): void {
  for (const c of REQUIRED_COLUMNS) {
    const v = row[c];
    if (v === undefined || v === null) problems.push(`${where}: missing ${show(c)}`);
    else if (typeof v !== "string") {
      problems.push(`${where}: ${show(c)} must be a string, got ${show(v)}`);
    } else if (v.trim() === "") problems.push(`${where}: empty ${show(c)}`);
  }
  for (const c of OPTIONAL_COLUMNS) {
    const v = row[c];
    if (v === undefined || v === null) continue;
    if (typeof v !== "number") {
      problems.push(`${where}: ${show(c)} ${badNumber(v)}`);
    } else if (!fromFile) {
      continue;
    } else if (!Number.isNaN(v) && !Number.isFinite(v)) {
      problems.push(`${where}: ${show(c)} must be finite, got ${v}`);
    } else if (c === "p_correct" && (v < 0 || v > 1)) {
      problems.push(`${where}: "p_correct" must be a probability in [0, 1], got ${v}`);
    }
  }
  for (const c of BOOLEAN_NAMES) {
    const v = row[c];
    if (v !== undefined && v !== null && typeof v !== "boolean") {
      problems.push(`${where}: ${show(c)} must be true or false, got ${show(v)}`);
    }
  }
  for (const c of ID_COLUMNS) {
    const v = row[c];
    if (v === undefined || v === null || v === "") continue;
    if (typeof v !== "string" || !IDS_PATTERN.test(v)) {
      problems.push(`${where}: ${show(c)} must be token ids separated by spaces, got ${show(v)}`);
    }
  }
  if (
    fromFile && typeof row.chosen === "string" && row.chosen !== "" &&
    row.chosen === row.rejected
  ) {
    problems.push(
      `${where}: "chosen" and "rejected" are the same text, so the pair states no preference`,
    );
  }
}

/** Why a value read for a number column is not one. */
function badNumber(v: unknown): string {
  if (typeof v === "string" && v.trim() === "") {
    return `is blank (${show(v)}); leave the cell empty for an unknown value`;
  }
  if (typeof v === "string" && /^\s*[+-]?inf(inity)?\s*$/i.test(v)) {
    return `must be finite, got ${show(v)}`;
  }
  return `must be a number, got ${show(v)}`;
}

/** Problems joined for one message: the first {@link MAX_PROBLEMS}, then how many more. */
export function joinProblems(problems: string[]): string {
  const shown = problems.slice(0, MAX_PROBLEMS).join("; ");
  const more = problems.length - MAX_PROBLEMS;
  return more > 0 ? `${shown}; … and ${more} more` : shown;
}
