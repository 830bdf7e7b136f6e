/**
 * Reading the records of a preference file: JSON arrays, JSONL, and CSV with an RFC 4180
 * parser written here rather than arquero's `fromCSV` because it must know the line each
 * record starts on (quoted fields may span lines) and must keep every text field a string
 * (arquero's type inference would turn a completion "42" into a number). Each record
 * remembers where it came from, for messages.
 *
 * @module
 */
import { FileFormatError, show } from "../util/errors.ts";
import { BOOLEAN_COLUMNS, OPTIONAL_COLUMNS } from "./preference_columns.ts";

/** A parsed row and where it came from (`line N` or `row N`) for messages. */
export interface SourceRow {
  /** `line N` or `row N`. */
  where: string;
  /** The record's fields by column name. */
  row: Record<string, unknown>;
  /** What is wrong with the record as a whole (e.g. a truncated CSV row). */
  problem?: string;
}

/** A decimal number as CSV holds one: sign, digits, point, exponent; no hex, no Infinity. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** JSONL (one object per line, blank lines skipped) or a JSON array of objects. */
export function jsonRecords(text: string, path: string, ext: ".json" | ".jsonl"): SourceRow[] {
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
export function csvRecords(text: string, path: string): SourceRow[] {
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
