/**
 * SHA-256 checksums of the files of a directory, so a cached stage (or a shard summary) is
 * verified before anything reads or publishes it: a truncated, edited, garbage or missing
 * file is detected instead of trained on.
 *
 * A directory's checksums are a map from each file's path relative to the directory
 * (`/`-separated, sorted) to the hex SHA-256 of its bytes (FIPS 180-4). Symbolic links
 * and other non-regular files are not followed or covered.
 *
 * @module
 */
import { join } from "node:path";

/** Relative path → hex SHA-256 of the file's bytes. */
export type Checksums = Record<string, string>;

/**
 * The hex SHA-256 of some bytes.
 * @example
 * ```ts
 * import { sha256Hex } from "./checksums.ts";
 * const h = await sha256Hex(new TextEncoder().encode("abc"));
 * if (!h.startsWith("ba7816bf")) throw new Error(h);
 * ```
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Checksums of every regular file under `dir` (recursively), except the relative paths in
 * `exclude`.
 * @param dir the directory.
 * @param exclude relative paths to leave out (e.g. the marker that will hold the result).
 */
export async function directoryChecksums(
  dir: string,
  exclude: readonly string[] = [],
): Promise<Checksums> {
  const out: Checksums = {};
  for (const rel of (await listFiles(dir)).sort()) {
    if (exclude.includes(rel)) continue;
    out[rel] = await sha256Hex(await Deno.readFile(join(dir, rel)));
  }
  return out;
}

/**
 * What is wrong with the files of `dir` against `expected`: the first file that is
 * missing, or whose bytes do not match its checksum (with its size, which tells a
 * truncated file). Undefined when every file matches. Files under `dir` that `expected`
 * does not list are not checked.
 */
export async function checksumMismatch(
  dir: string,
  expected: Checksums,
): Promise<string | undefined> {
  for (const [rel, sum] of Object.entries(expected)) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(join(dir, rel));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return `${rel} is missing`;
      return `${rel} cannot be read (${(e as Error).message})`;
    }
    if ((await sha256Hex(bytes)) !== sum) {
      return `${rel} (${bytes.length} bytes) does not match its SHA-256 (truncated or edited?)`;
    }
  }
  return undefined;
}

/** Relative paths of the regular files under `dir`. */
async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await listFiles(dir, rel));
    else if (e.isFile) out.push(rel);
  }
  return out;
}
