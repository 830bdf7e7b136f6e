/**
 * A word-level tokenizer: the four special tokens (PAD 0, BOS 1, EOS 2, UNK 3), then the
 * most frequent words of the training sentences. Word level keeps the tiny models' outputs
 * readable and makes the vocabulary a plain list a notebook can print; the price is UNK,
 * so {@link WordTokenizer.coverage} reports how much of a text the vocabulary covers.
 *
 * Text goes through {@link splitText} / {@link joinWords}, which mirror the Brown corpus's
 * tokenisation, so `encodeText(decode(ids))` gives `ids` back for ordinary sentences.
 *
 * @module
 */
import { FileFormatError } from "../util/errors.ts";
import { checkField } from "../util/schema.ts";
import { writeTextAtomic } from "../util/atomic_write.ts";
import { BOS_ID, EOS_ID, PAD_ID, SPECIAL_TOKENS, UNK_ID } from "./special_tokens.ts";
import { joinWords, splitText } from "./detokenize.ts";

export { BOS_ID, EOS_ID, PAD_ID, SPECIAL_TOKENS, UNK_ID } from "./special_tokens.ts";
export { joinWords, splitText } from "./detokenize.ts";

/** The `format` tag (layout name and version) of a saved tokenizer, checked on load. */
export const TOKENIZER_FORMAT = "rlhf-kit/word-tokenizer@1";

/** A tokenizer as JSON (saved files and checkpoints): the vocabulary in id order. */
export interface TokenizerJson {
  /** Layout tag, {@link TOKENIZER_FORMAT}. */
  format: typeof TOKENIZER_FORMAT;
  /** `words[id]` is the word with that id; `words[0..3]` are {@link SPECIAL_TOKENS}. */
  words: string[];
}

/** Options of {@link WordTokenizer.decode} and {@link WordTokenizer.decodeWords}. */
export interface DecodeOptions {
  /** Stop at the first EOS (default true); otherwise EOS is skipped like PAD and BOS. */
  stopAtEos?: boolean;
  /** How UNK is written (default `"<unk>"`, which {@link WordTokenizer.encodeText} reads back). */
  unk?: string;
}

/** Word ↔ id mapping with special tokens; immutable once built. */
export class WordTokenizer {
  readonly #vocab: readonly string[];
  readonly #ids: Map<string, number>;

  /**
   * Build from a full vocabulary (specials first). Prefer {@link WordTokenizer.fit} or
   * {@link WordTokenizer.fromJSON}, which validate.
   */
  private constructor(vocab: readonly string[]) {
    this.#vocab = Object.freeze([...vocab]);
    this.#ids = new Map(vocab.map((w, i) => [w, i]));
  }

  /**
   * Fit on tokenised sentences: the specials, then the `vocabSize − 4` most frequent words,
   * ties broken by code-unit order so the result depends only on the counts.
   *
   * @param sentences words per sentence (e.g. `sentencesOf(split.train)`).
   * @param vocabSize total size including the 4 specials; an integer ≥ 5. The vocabulary
   *   is smaller when the sentences have fewer distinct words.
   * @throws ConfigError naming `vocabSize` when it is not an integer ≥ 5.
   * @example
   * ```ts
   * import { WordTokenizer } from "./tokenizer.ts";
   * const tok = WordTokenizer.fit([["a", "b", "a"], ["c", "a", "b"]], 6);
   * if (tok.wordOf(4) !== "a" || tok.idOf("b") !== 5 || tok.idOf("c") !== 3) throw new Error();
   * ```
   */
  static fit(sentences: readonly (readonly string[])[], vocabSize: number): WordTokenizer {
    checkField("vocabSize", vocabSize, {
      type: "number",
      int: true,
      min: SPECIAL_TOKENS.length + 1,
      doc: "vocabulary size including the 4 special tokens",
    });
    const counts = new Map<string, number>();
    for (const s of sentences) for (const w of s) counts.set(w, (counts.get(w) ?? 0) + 1);
    for (const sp of SPECIAL_TOKENS) counts.delete(sp);
    const ranked = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, vocabSize - SPECIAL_TOKENS.length)
      .map(([w]) => w);
    return new WordTokenizer([...SPECIAL_TOKENS, ...ranked]);
  }

  /** Number of ids, specials included (ids run from 0 to `vocabSize − 1`). */
  get vocabSize(): number {
    return this.#vocab.length;
  }

  /** The vocabulary in id order (frozen); `vocab[0..3]` are the specials. */
  get vocab(): readonly string[] {
    return this.#vocab;
  }

  /** The id of `word`, or UNK_ID when it is not in the vocabulary. */
  idOf(word: string): number {
    return this.#ids.get(word) ?? UNK_ID;
  }

  /** Whether `word` has an id of its own. */
  has(word: string): boolean {
    return this.#ids.has(word);
  }

  /**
   * The word with id `id`; specials give their surface forms (`<pad>` …).
   * @throws RangeError when `id` is not an integer in [0, vocabSize).
   */
  wordOf(id: number): string {
    const w = this.#vocab[id];
    if (w === undefined) {
      throw new RangeError(
        `token id ${id} is outside the vocabulary (ids 0..${this.#vocab.length - 1})`,
      );
    }
    return w;
  }

  /**
   * Ids of corpus-style words (as in the corpus or from {@link splitText}); unknown words
   * become UNK_ID. No BOS or EOS is added. The specials' surface forms map to their ids.
   */
  encode(words: readonly string[]): number[] {
    return words.map((w) => this.#ids.get(w) ?? UNK_ID);
  }

  /**
   * Ids of plain text: {@link splitText}, then {@link WordTokenizer.encode}, except that an
   * unknown word with a detachable period or apostrophe (`a.`, `states'`) is encoded as its
   * two known parts, which is how decoded text of those parts reads.
   */
  encodeText(text: string): number[] {
    const ids: number[] = [];
    for (const w of splitText(text)) {
      const id = this.#ids.get(w);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      const parts = w.length > 1 && (w.endsWith(".") || w.endsWith("'"))
        ? [w.slice(0, -1), w.slice(-1)]
        : w.length > 1 && w.startsWith("'")
        ? [w.slice(0, 1), w.slice(1)]
        : undefined;
      if (parts && parts.every((p) => this.#ids.has(p))) ids.push(...this.encode(parts));
      else ids.push(UNK_ID);
    }
    return ids;
  }

  /**
   * Words of `ids`: PAD and BOS skipped, stopping at the first EOS, UNK written as
   * `opts.unk` (default `<unk>`).
   * @throws RangeError on an id outside the vocabulary.
   */
  decodeWords(ids: ArrayLike<number>, opts: DecodeOptions = {}): string[] {
    const stopAtEos = opts.stopAtEos ?? true;
    const unk = opts.unk ?? SPECIAL_TOKENS[UNK_ID];
    const words: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id === PAD_ID || id === BOS_ID) continue;
      if (id === EOS_ID) {
        if (stopAtEos) break;
        continue;
      }
      words.push(id === UNK_ID ? unk : this.wordOf(id));
    }
    return words;
  }

  /**
   * Readable text of `ids`: {@link WordTokenizer.decodeWords} joined by {@link joinWords}
   * (no space before `, . ; : ! ?` and contractions, quotes hugging their contents).
   * @example
   * ```ts
   * import { WordTokenizer } from "./tokenizer.ts";
   * const tok = WordTokenizer.fit([["it", "was", "good", ",", "very", "good", "."]], 10);
   * const ids = [1, ...tok.encode(["it", "was", "good", ",", "very", "good", "."]), 2, 0];
   * if (tok.decode(ids) !== "it was good, very good.") throw new Error(tok.decode(ids));
   * ```
   */
  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    return joinWords(this.decodeWords(ids, opts));
  }

  /**
   * Fraction of the tokens of `sentences` that have an id of their own (not UNK):
   * Σ in-vocabulary tokens / Σ tokens. NaN when there are no tokens.
   */
  coverage(sentences: readonly (readonly string[])[]): number {
    let known = 0;
    let total = 0;
    for (const s of sentences) {
      for (const w of s) if (this.#ids.has(w)) known++;
      total += s.length;
    }
    return known / total;
  }

  /** The tokenizer as plain JSON (a fresh object; the vocabulary is copied). */
  toJSON(): TokenizerJson {
    return { format: TOKENIZER_FORMAT, words: [...this.#vocab] };
  }

  /**
   * Rebuild a tokenizer from {@link WordTokenizer.toJSON} output, checking it.
   * @param obj parsed JSON.
   * @param source names the origin in error messages (a file path), default "tokenizer JSON".
   * @throws FileFormatError naming the source and what is wrong (format, a missing or
   *   misplaced special token, an empty or duplicate word).
   */
  static fromJSON(obj: unknown, source = "tokenizer JSON"): WordTokenizer {
    const bad = (what: string): never => {
      throw new FileFormatError(`${source}: ${what}`);
    };
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
      return bad(`expected an object with format and words, got ${preview(obj)}`);
    }
    const o = obj as Record<string, unknown>;
    if (o.format !== TOKENIZER_FORMAT) {
      bad(`format must be ${JSON.stringify(TOKENIZER_FORMAT)}, got ${preview(o.format)}`);
    }
    const vocab = o.words;
    if (!Array.isArray(vocab)) return bad(`words must be an array of words, got ${preview(vocab)}`);
    if (vocab.length <= SPECIAL_TOKENS.length) {
      bad(`words has ${vocab.length} entries; it needs the 4 special tokens and at least 1 word`);
    }
    const seen = new Map<string, number>();
    vocab.forEach((w, i) => {
      if (typeof w !== "string" || w.length === 0 || /\s/.test(w)) {
        bad(`words[${i}] must be a non-empty word without spaces, got ${preview(w)}`);
      }
      if (i < SPECIAL_TOKENS.length && w !== SPECIAL_TOKENS[i]) {
        bad(`words[${i}] must be the special token ${SPECIAL_TOKENS[i]}, got ${preview(w)}`);
      }
      const first = seen.get(w);
      if (first !== undefined) bad(`words[${i}] ${preview(w)} repeats words[${first}]`);
      seen.set(w, i);
    });
    return new WordTokenizer(vocab as string[]);
  }

  /** Write the tokenizer as JSON to `path` atomically (temp file, then rename). */
  async save(path: string): Promise<void> {
    await writeTextAtomic(path, JSON.stringify(this.toJSON()) + "\n");
  }

  /**
   * Read a tokenizer written by {@link WordTokenizer.save}.
   * @throws FileFormatError naming `path` when the file is missing, is not JSON, or is not
   *   a valid tokenizer.
   */
  static async load(path: string): Promise<WordTokenizer> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new FileFormatError(`tokenizer file ${path} does not exist`);
      }
      throw new FileFormatError(`cannot read tokenizer file ${path}: ${(e as Error).message}`);
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new FileFormatError(
        `tokenizer file ${path} is not valid JSON (${(e as Error).message}); ` +
          `it may be truncated: delete it and rerun the data stage`,
      );
    }
    return WordTokenizer.fromJSON(obj, `tokenizer file ${path}`);
  }
}

/** A short rendering of a bad value for messages. */
function preview(v: unknown): string {
  const s = v === undefined ? "undefined" : JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
