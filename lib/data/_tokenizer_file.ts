/**
 * Reading tokenizer files, shared by the tokenizers and the loader: one-line
 * `FileFormatError`s that name the file and what is wrong.
 *
 * @module
 */
import { FileFormatError } from "../util/errors.ts";

/**
 * The parsed JSON of the tokenizer file at `path`.
 * @throws FileFormatError naming `path` when the file is missing, unreadable or not JSON.
 */
export async function readTokenizerJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new FileFormatError(`tokenizer file ${path} does not exist`);
    }
    throw new FileFormatError(`cannot read tokenizer file ${path}: ${oneLine(e)}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FileFormatError(
      `tokenizer file ${path} is not valid JSON (${oneLine(e)}); ` +
        `it may be truncated: delete it and rerun the data stage`,
    );
  }
}

/** A short rendering of a bad value for messages. */
export function preview(v: unknown): string {
  const s = v === undefined ? "undefined" : JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** An error's message on one line. */
function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, " ");
}
