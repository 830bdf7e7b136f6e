/**
 * Preference data as an arquero table, and its CSV / JSON / JSONL files.
 *
 * One row per labelled pair:
 *
 * | column        | type   | required | meaning                                          |
 * |---------------|--------|----------|--------------------------------------------------|
 * | prompt        | string | yes      | the prompt x                                     |
 * | chosen        | string | yes      | the preferred completion y_w                     |
 * | rejected      | string | yes      | the other completion y_l                         |
 * | gold_chosen   | number | no       | gold reward r(x, y_w)                            |
 * | gold_rejected | number | no       | gold reward r(x, y_l)                            |
 * | p_correct     | number | no       | P(label agrees with the gold order), see annotators.ts |
 * | tie           | boolean| no       | the annotator declared no preference (default false) |
 * | chosen_finished   | boolean | no   | y_w ended with EOS, not at the length limit (default true) |
 * | rejected_finished | boolean | no   | y_l ended with EOS (default true)                |
 *
 * A tie row lists its two completions in an arbitrary order and has p_correct NaN. The
 * defaults are how files written before these columns existed are read: no ties, and
 * every completion taken as finished (which is how they were then used).
 * Booleans are written `true`/`false` in CSV; the reader also takes 1/0 and empty (the
 * default).
 * Files are what pandas reads (`pd.read_csv`, `pd.read_json(lines=True)`,
 * `pd.read_json`); writes are atomic (temp file + rename). Loading checks every row and
 * reports all bad rows at once, with their line numbers, in one FileFormatError. The CSV
 * reader is an RFC 4180 parser written here rather than arquero's `fromCSV` because it
 * must know the line each record starts on (quoted fields may span lines) and must keep
 * every text field a string (arquero's type inference would turn a completion "42" into
 * a number).
 *
 * @module
 */
import * as aq from "arquero";
import { writeTextAtomic } from "../util/atomic_write.ts";
import { ConfigError, FileFormatError, show } from "../util/errors.ts";
import { Rng } from "../util/rng.ts";
import { checkField } from "../util/schema.ts";

/** One preference pair. Optional numbers may be NaN when unknown. */
export interface PreferenceRow {
  /** The prompt text the two completions continue. */
  prompt: string;
  /** The completion the annotator preferred (y_w). */
  chosen: string;
  /** The completion the annotator rejected (y_l). */
  rejected: string;
  /** Hidden gold reward of `chosen` (for analysis only; never trained on). */
  gold_chosen?: number;
  /** Hidden gold reward of `rejected`. */
  gold_rejected?: number;
  /** Probability that the label agrees with the gold reward order (see `annotators.ts`). */
  p_correct?: number;
  /** The annotator declared no preference (default false). */
  tie?: boolean;
  /** `chosen` ended with EOS rather than at the length limit (default true). */
  chosen_finished?: boolean;
  /** `rejected` ended with EOS rather than at the length limit (default true). */
  rejected_finished?: boolean;
}

/** Columns every preference table and file must have (non-empty strings). */
export const REQUIRED_COLUMNS = ["prompt", "chosen", "rejected"] as const;
/** Optional numeric columns, kept when present. */
export const OPTIONAL_COLUMNS = ["gold_chosen", "gold_rejected", "p_correct"] as const;
/** Optional boolean columns, kept when present; their value where missing. */
export const BOOLEAN_COLUMNS = {
  tie: false,
  chosen_finished: true,
  rejected_finished: true,
} as const;
const BOOLEAN_NAMES = Object.keys(BOOLEAN_COLUMNS) as (keyof typeof BOOLEAN_COLUMNS)[];
/** File extensions {@link savePreferences} and {@link loadPreferences} understand. */
export const PREFERENCE_EXTENSIONS = [".csv", ".json", ".jsonl"] as const;

/** At most this many bad rows are listed in one error message. */
const MAX_PROBLEMS = 20;

/**
 * Build a preference table from rows. Optional columns appear when any row has them
 * (missing numbers become NaN, missing booleans their {@link BOOLEAN_COLUMNS} default).
 * @throws ConfigError listing rows (0-based) whose prompt/chosen/rejected are missing,
 *   not strings or empty.
 * @example
 * ```ts
 * import { preferenceTable } from "./preference_table.ts";
 * const t = preferenceTable([{ prompt: "the film", chosen: "was good", rejected: "was bad" }]);
 * if (t.numRows() !== 1) throw new Error();
 * ```
 */
export function preferenceTable(rows: readonly PreferenceRow[]): aq.ColumnTable {
  const problems: string[] = [];
  rows.forEach((row, i) =>
    checkRow(row as unknown as Record<string, unknown>, `row ${i}`, problems)
  );
  if (problems.length) throw new ConfigError(`preferenceTable: ${joinProblems(problems)}`);
  const columns: Record<string, unknown[]> = {};
  for (const c of REQUIRED_COLUMNS) columns[c] = rows.map((r) => r[c]);
  for (const c of OPTIONAL_COLUMNS) {
    if (rows.some((r) => r[c] !== undefined)) columns[c] = rows.map((r) => r[c] ?? NaN);
  }
  for (const c of BOOLEAN_NAMES) {
    if (rows.some((r) => r[c] !== undefined)) {
      columns[c] = rows.map((r) => r[c] ?? BOOLEAN_COLUMNS[c]);
    }
  }
  return aq.table(columns);
}

/**
 * Write a preference table to `path`, atomically: `.csv` (RFC 4180 quoting), `.json`
 * (an array of row objects; NaN is written as null) or `.jsonl` (one object per line).
 * @throws FileFormatError for another extension; ConfigError when a required column is
 *   missing from the table.
 */
export async function savePreferences(table: aq.ColumnTable, path: string): Promise<void> {
  const ext = extensionOf(path);
  const missing = REQUIRED_COLUMNS.filter((c) => !table.columnNames().includes(c));
  if (missing.length) {
    throw new ConfigError(
      `savePreferences(${path}): table lacks required column(s) ${missing.map(show).join(", ")}`,
    );
  }
  let text: string;
  if (ext === ".csv") text = aq.toCSV(table);
  else if (ext === ".json") text = JSON.stringify(table.objects()) + "\n";
  else text = table.objects().map((o) => JSON.stringify(o) + "\n").join("");
  await writeTextAtomic(path, text);
}

/**
 * Read a preference file written by {@link savePreferences} or by hand (`.csv`, `.json`,
 * `.jsonl`). Columns prompt, chosen and rejected are required and must be non-empty in
 * every row, and chosen must differ from rejected; gold_chosen, gold_rejected and
 * p_correct are optional finite numbers (empty, `NaN` or null → NaN, unknown), written as
 * decimals (not hex, not Infinity, not blank), p_correct a probability in [0, 1]; tie,
 * chosen_finished and rejected_finished are optional booleans (empty or null → their
 * default); other columns are kept as they are (CSV: strings). A file with a NUL byte, or
 * a CSV row with fewer fields than the header (a truncated file), is refused.
 * @throws FileFormatError naming the file and, for bad rows, every line number at once,
 *   e.g. `prefs.csv: line 4: empty "chosen"; line 7: missing "rejected"`. Also for a
 *   missing file, an unknown extension, bad JSON (with its line), a missing required
 *   column (named) and a file with no rows. JSON arrays report `row N` (1-based).
 */
export async function loadPreferences(path: string): Promise<aq.ColumnTable> {
  const ext = extensionOf(path);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new FileFormatError(`${path}: file not found`);
    throw new FileFormatError(`${path}: cannot read (${(e as Error).message})`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // byte-order mark from Excel
  const nul = text.indexOf("\0");
  if (nul >= 0) {
    const line = text.slice(0, nul).split("\n").length;
    throw new FileFormatError(
      `${path}: line ${line}: contains a NUL byte (a binary or corrupt file, not text)`,
    );
  }
  const records = ext === ".csv" ? csvRecords(text, path) : jsonRecords(text, path, ext);
  if (records.length === 0) throw new FileFormatError(`${path}: no rows`);

  const names: string[] = [];
  for (const r of records) {
    for (const k of Object.keys(r.row)) if (!names.includes(k)) names.push(k);
  }
  const absent = REQUIRED_COLUMNS.filter((c) => !names.includes(c));
  if (absent.length) {
    throw new FileFormatError(
      `${path}: missing required column${absent.length > 1 ? "s" : ""} ` +
        `${absent.map(show).join(", ")}; found ${names.map(show).join(", ") || "none"}`,
    );
  }
  const problems: string[] = [];
  for (const r of records) {
    if (r.problem) problems.push(`${r.where}: ${r.problem}`);
    else checkRow(r.row, r.where, problems, true);
  }
  if (problems.length) throw new FileFormatError(`${path}: ${joinProblems(problems)}`);

  const known: readonly string[] = [...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS, ...BOOLEAN_NAMES];
  const order = [
    ...known.filter((c) => names.includes(c)),
    ...names.filter((c) => !known.includes(c)),
  ];
  const columns: Record<string, unknown[]> = {};
  for (const c of order) {
    const optional = (OPTIONAL_COLUMNS as readonly string[]).includes(c);
    const fallback = c in BOOLEAN_COLUMNS
      ? BOOLEAN_COLUMNS[c as keyof typeof BOOLEAN_COLUMNS]
      : optional
      ? NaN
      : null;
    columns[c] = records.map((r) => r.row[c] ?? fallback);
  }
  return aq.table(columns);
}

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

// ---------------------------------------------------------------------------------------

/** A parsed row and where it came from (`line N` or `row N`) for messages. */
interface SourceRow {
  where: string;
  row: Record<string, unknown>;
  /** What is wrong with the record as a whole (e.g. a truncated CSV row). */
  problem?: string;
}

/**
 * Append to `problems` what is wrong with one row's fields. A row read from a file is
 * also held to what a file can get wrong (`fromFile`): numbers finite and p_correct a
 * probability, chosen different from rejected; the tables code builds are checked by
 * their own consumers (e.g. `preferenceStats`).
 */
function checkRow(
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

/** A decimal number as CSV holds one: sign, digits, point, exponent; no hex, no Infinity. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function joinProblems(problems: string[]): string {
  const shown = problems.slice(0, MAX_PROBLEMS).join("; ");
  const more = problems.length - MAX_PROBLEMS;
  return more > 0 ? `${shown}; … and ${more} more` : shown;
}

function extensionOf(path: string): (typeof PREFERENCE_EXTENSIONS)[number] {
  const m = path.toLowerCase().match(/\.[^./\\]+$/);
  const ext = m ? m[0] : "";
  if ((PREFERENCE_EXTENSIONS as readonly string[]).includes(ext)) {
    return ext as (typeof PREFERENCE_EXTENSIONS)[number];
  }
  throw new FileFormatError(
    `${path}: unknown extension ${show(ext || "(none)")}; allowed: ${
      PREFERENCE_EXTENSIONS.join(", ")
    }`,
  );
}

/** JSONL (one object per line, blank lines skipped) or a JSON array of objects. */
function jsonRecords(text: string, path: string, ext: ".json" | ".jsonl"): SourceRow[] {
  const out: SourceRow[] = [];
  const push = (value: unknown, where: string) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new FileFormatError(`${path}: ${where}: expected a JSON object, got ${show(value)}`);
    }
    out.push({ where, row: value as Record<string, unknown> });
  };
  if (ext === ".json") {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new FileFormatError(`${path}: bad JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(data)) {
      throw new FileFormatError(`${path}: expected a JSON array of row objects`);
    }
    data.forEach((v, i) => push(v, `row ${i + 1}`));
    return out;
  }
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new FileFormatError(`${path}: line ${i + 1}: bad JSON (${(e as Error).message})`);
    }
    push(value, `line ${i + 1}`);
  });
  return out;
}

/**
 * CSV (RFC 4180: `,` separated, fields quoted with `"` and `""` inside quotes, LF or CRLF
 * line ends) with a header row. Each record remembers the line it starts on; blank lines
 * are skipped; optional numeric columns are converted (empty → NaN).
 */
function csvRecords(text: string, path: string): SourceRow[] {
  const records = parseCsv(text, path).filter((r) =>
    !(r.fields.length === 1 && r.fields[0] === "")
  );
  const header = records.shift();
  if (!header) return [];
  const names = header.fields.map((f) => f.trim());
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) {
    throw new FileFormatError(`${path}: line ${header.line}: duplicate column ${show(dup)}`);
  }
  return records.map(({ line, fields }) => {
    const where = `line ${line}`;
    if (fields.length > names.length) {
      throw new FileFormatError(
        `${path}: ${where}: ${fields.length} fields but the header has ${names.length}`,
      );
    }
    const row: Record<string, unknown> = {};
    names.forEach((name, i) => {
      const v = fields[i];
      if (v === undefined) return;
      if ((OPTIONAL_COLUMNS as readonly string[]).includes(name)) {
        // Empty or NaN: unknown. Decimals only (Number() would also read " ", "0x10",
        // "Infinity"); anything else stays a string so checkRow names it.
        const t = v.trim();
        row[name] = v === "" || /^nan$/i.test(t) ? NaN : DECIMAL.test(t) ? Number(t) : v;
      } else if (name in BOOLEAN_COLUMNS) {
        const t = v.trim().toLowerCase();
        // Unknown spellings stay strings so that checkRow reports them with their line.
        row[name] = t === ""
          ? undefined
          : t === "true" || t === "1"
          ? true
          : t === "false" || t === "0"
          ? false
          : v;
      } else row[name] = v;
    });
    if (fields.length < names.length) {
      return {
        where,
        row,
        problem: `${fields.length} field(s) but the header has ${names.length} (truncated?)`,
      };
    }
    return { where, row };
  });
}

/** Split CSV text into records of raw fields, each with its 1-based starting line. */
function parseCsv(text: string, path: string): { line: number; fields: string[] }[] {
  const records: { line: number; fields: string[] }[] = [];
  const n = text.length;
  let i = 0, line = 1;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let field: string;
      if (text[i] === '"') {
        const openLine = line;
        const parts: string[] = [];
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) {
            throw new FileFormatError(`${path}: line ${openLine}: quoted field is never closed`);
          }
          parts.push(text.slice(i, q));
          if (text[q + 1] === '"') {
            parts.push('"');
            i = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
        field = parts.join("");
        for (const ch of field) if (ch === "\n") line++;
        if (i < n && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") {
          throw new FileFormatError(
            `${path}: line ${line}: unexpected ${show(text[i])} after a closing quote ` +
              `(quotes inside a field must be doubled)`,
          );
        }
      } else {
        const s = i;
        while (i < n && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") i++;
        field = text.slice(s, i);
      }
      fields.push(field);
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "\r") i++;
      if (text[i] === "\n") i++;
      line++;
      break;
    }
    records.push({ line: start, fields });
  }
  return records;
}
