/**
 * Either tokenizer from its JSON or file, chosen by the `format` tag, so the data stage
 * and checkpoints can hold a word-level or a BPE tokenizer; and fitting either by name.
 *
 * @module
 */
import { FileFormatError } from "../util/errors.ts";
import { checkField } from "../util/schema.ts";
import { TOKENIZER_FORMAT, WordTokenizer } from "./tokenizer.ts";
import { BPE_TOKENIZER_FORMAT, BpeTokenizer } from "./bpe_tokenizer.ts";
import type { Tokenizer } from "./tokenizer_api.ts";
import { preview, readTokenizerJson } from "./_tokenizer_file.ts";

/** The tokenizer kinds {@link fitTokenizer} trains: word level, or byte-level BPE. */
export const TOKENIZER_KINDS = ["word", "bpe"] as const;

/** A tokenizer kind: `word` ({@link WordTokenizer}) or `bpe` ({@link BpeTokenizer}). */
export type TokenizerKind = typeof TOKENIZER_KINDS[number];

/**
 * Fit a tokenizer of `kind` on tokenised sentences (see {@link WordTokenizer.fit} and
 * {@link BpeTokenizer.fit} for what `vocabSize` allows).
 * @throws ConfigError naming `tokenizer` for an unknown kind, or `vocabSize` when out of range.
 * @example
 * ```ts
 * import { fitTokenizer } from "./load_tokenizer.ts";
 * const tok = fitTokenizer("bpe", [["a", "b", "a"]], 262);
 * if (tok.decode(tok.encode(["b", "a"])) !== "b a") throw new Error();
 * ```
 */
export function fitTokenizer(
  kind: TokenizerKind,
  sentences: readonly (readonly string[])[],
  vocabSize: number,
): Tokenizer {
  checkField("tokenizer", kind, {
    type: "enum",
    values: TOKENIZER_KINDS,
    doc: "tokenizer kind",
  });
  return kind === "word"
    ? WordTokenizer.fit(sentences, vocabSize)
    : BpeTokenizer.fit(sentences, vocabSize);
}

/**
 * Rebuild whichever tokenizer `obj` is (a `toJSON()` output, e.g. from a checkpoint),
 * by its `format` tag.
 * @param source names the origin in error messages (a file path), default "tokenizer JSON".
 * @throws FileFormatError naming the source and what is wrong, e.g. an unknown format.
 */
export function tokenizerFromJSON(obj: unknown, source = "tokenizer JSON"): Tokenizer {
  const format = typeof obj === "object" && obj !== null && !Array.isArray(obj)
    ? (obj as Record<string, unknown>).format
    : undefined;
  if (format === TOKENIZER_FORMAT) return WordTokenizer.fromJSON(obj, source);
  if (format === BPE_TOKENIZER_FORMAT) return BpeTokenizer.fromJSON(obj, source);
  const known = [TOKENIZER_FORMAT, BPE_TOKENIZER_FORMAT].map((f) => JSON.stringify(f)).join(" or ");
  throw new FileFormatError(
    `${source}: expected a tokenizer object with format ${known}, got ` +
      (format === undefined ? preview(obj) : `format ${preview(format)}`),
  );
}

/**
 * Read a tokenizer file written by either tokenizer's `save`.
 * @throws FileFormatError naming `path` when the file is missing, is not JSON, or is not
 *   a valid tokenizer of a known format.
 */
export async function loadTokenizer(path: string): Promise<Tokenizer> {
  return tokenizerFromJSON(await readTokenizerJson(path), `tokenizer file ${path}`);
}
