/**
 * JSON files of results and caches: written atomically and pretty-printed, read back with
 * an error that names the file when it is missing or corrupt.
 *
 * @module
 */
import { writeTextAtomic } from "../util/atomic_write.ts";
import { FileFormatError } from "../util/errors.ts";

/**
 * Write `value` as pretty JSON (two-space indent, final newline), atomically: a reader sees
 * the old file or the new one, never half of it.
 * @param path the file to write.
 * @param value any JSON-serialisable value.
 */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeTextAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/**
 * Read a JSON file.
 * @param path the file to read.
 * @returns the parsed value, typed as the caller says (not checked).
 * @throws FileFormatError naming `path` when it cannot be read or is not valid JSON.
 * @example
 * ```ts
 * import { readJson, writeJson } from "./json_file.ts";
 * const path = await Deno.makeTempFile({ suffix: ".json" });
 * await writeJson(path, { beta: 0.1 });
 * const back = await readJson<{ beta: number }>(path);
 * if (back.beta !== 0.1) throw new Error();
 * ```
 */
export async function readJson<T>(path: string): Promise<T> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new FileFormatError(`${path} cannot be read: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new FileFormatError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}
