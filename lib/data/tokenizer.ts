/**
 * A word-level tokenizer: the 4 special tokens (PAD, BOS, EOS, UNK) then the most frequent
 * words of a training corpus, ties broken alphabetically so fitting is deterministic.
 * Text is split the way the corpus is: lower-case words, punctuation as its own token.
 *
 * @module
 */
import { PAD_ID, SPECIAL_TOKENS, UNK_ID } from "./special_tokens.ts";
import { ConfigError, FileFormatError } from "../util/errors.ts";
import { writeTextAtomic } from "../util/atomic_write.ts";

export { BOS_ID, EOS_ID, PAD_ID, UNK_ID } from "./special_tokens.ts";

const FORMAT = "rlhf-kit/word-tokenizer@1";

/** Serialised form: the vocabulary in id order. */
export interface TokenizerJson {
  format: string;
  words: string[];
}

/**
 * Split plain text into tokens as the corpus is tokenised: lower-case; words (with inner
 * apostrophes and hyphens), numbers, and each punctuation mark separately.
 * @example
 * ```ts
 * import { splitText } from "./tokenizer.ts";
 * if (splitText("A fine, warm film!").join(" ") !== "a fine , warm film !") throw new Error();
 * ```
 */
export function splitText(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+(?:['’.-][a-z0-9]+)*|<unk>|[^\sa-z0-9]/g) ?? [];
}

const NO_SPACE_BEFORE = new Set([
  ",",
  ".",
  ";",
  ":",
  "!",
  "?",
  ")",
  "'",
  "n't",
  "'s",
  "'re",
  "'ll",
  "'d",
  "'m",
  "'ve",
]);
const NO_SPACE_AFTER = new Set(["(", "$"]);

/** Join words into readable text: no space before punctuation or after an opening bracket. */
export function joinWords(words: readonly string[]): string {
  let out = "";
  let quoteOpen = false;
  words.forEach((w, i) => {
    let space = i > 0;
    if (NO_SPACE_BEFORE.has(w)) space = false;
    if (i > 0 && NO_SPACE_AFTER.has(words[i - 1]!)) space = false;
    if (w === '"') {
      if (quoteOpen) space = false;
      quoteOpen = !quoteOpen;
    } else if (i > 0 && words[i - 1] === '"' && quoteOpen) space = false;
    out += (space ? " " : "") + w;
  });
  return out;
}

/** A word-level tokenizer. Immutable once built. */
export class WordTokenizer {
  readonly #words: string[];
  readonly #ids: Map<string, number>;

  private constructor(words: string[]) {
    this.#words = words;
    this.#ids = new Map(words.map((w, i) => [w, i]));
  }

  /**
   * Keep the `vocabSize − 4` most frequent words of `sentences`.
   * @throws ConfigError when vocabSize is not an integer ≥ 5.
   */
  static fit(sentences: readonly (readonly string[])[], vocabSize: number): WordTokenizer {
    if (!Number.isInteger(vocabSize) || vocabSize < 5) {
      throw new ConfigError(`vocabSize must be an integer >= 5, got ${vocabSize}`);
    }
    const counts = new Map<string, number>();
    for (const s of sentences) for (const w of s) counts.set(w, (counts.get(w) ?? 0) + 1);
    for (const special of SPECIAL_TOKENS) counts.delete(special);
    const ranked = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, vocabSize - SPECIAL_TOKENS.length)
      .map(([w]) => w);
    return new WordTokenizer([...SPECIAL_TOKENS, ...ranked]);
  }

  /** Rebuild from {@link WordTokenizer.toJSON}; a malformed object is a FileFormatError. */
  static fromJSON(obj: unknown, source = "tokenizer"): WordTokenizer {
    const o = obj as Partial<TokenizerJson> | null;
    if (typeof o !== "object" || o === null) {
      throw new FileFormatError(`${source} is not an object`);
    }
    if (o.format !== FORMAT) {
      throw new FileFormatError(
        `${source} has format ${JSON.stringify(o.format)}, expected ${JSON.stringify(FORMAT)}`,
      );
    }
    if (!Array.isArray(o.words) || o.words.some((w) => typeof w !== "string")) {
      throw new FileFormatError(`${source} has no list of words`);
    }
    if (SPECIAL_TOKENS.some((s, i) => o.words![i] !== s)) {
      throw new FileFormatError(
        `${source} does not start with the special tokens ${SPECIAL_TOKENS.join(" ")}`,
      );
    }
    if (new Set(o.words).size !== o.words.length) {
      throw new FileFormatError(`${source} repeats a word`);
    }
    return new WordTokenizer([...o.words]);
  }

  /** Read a tokenizer saved with {@link WordTokenizer.save}. */
  static async load(path: string): Promise<WordTokenizer> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      throw new FileFormatError(`tokenizer ${path} cannot be read: ${(e as Error).message}`);
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new FileFormatError(`tokenizer ${path} is not valid JSON: ${(e as Error).message}`);
    }
    return WordTokenizer.fromJSON(obj, `tokenizer ${path}`);
  }

  /** Vocabulary size, specials included. */
  get vocabSize(): number {
    return this.#words.length;
  }

  /** The id of `word` (UNK when out of vocabulary). */
  idOf(word: string): number {
    return this.#ids.get(word) ?? UNK_ID;
  }

  /** The word of `id`. */
  wordOf(id: number): string {
    const w = this.#words[id];
    if (w === undefined) {
      throw new RangeError(`token id ${id} is outside the vocabulary of ${this.vocabSize}`);
    }
    return w;
  }

  /** Words → ids (no BOS/EOS added). */
  encode(words: readonly string[]): number[] {
    return words.map((w) => this.idOf(w));
  }

  /** Plain text → ids, split as the corpus is. */
  encodeText(text: string): number[] {
    return this.encode(splitText(text));
  }

  /** Ids → words, skipping PAD and BOS and stopping at EOS. */
  decodeWords(ids: readonly number[]): string[] {
    const out: string[] = [];
    for (const id of ids) {
      if (id === SPECIAL_TOKENS.indexOf("<eos>")) break;
      if (id === PAD_ID || id === SPECIAL_TOKENS.indexOf("<bos>")) continue;
      out.push(this.wordOf(id));
    }
    return out;
  }

  /** Ids → readable text (see {@link joinWords}). */
  decode(ids: readonly number[]): string {
    return joinWords(this.decodeWords(ids));
  }

  /** Fraction of the tokens of `sentences` that are in the vocabulary. */
  coverage(sentences: readonly (readonly string[])[]): number {
    let known = 0, total = 0;
    for (const s of sentences) {
      for (const w of s) {
        total++;
        if (this.#ids.has(w)) known++;
      }
    }
    return total ? known / total : NaN;
  }

  /** Plain-JSON form (stored in checkpoints). */
  toJSON(): TokenizerJson {
    return { format: FORMAT, words: [...this.#words] };
  }

  /** Write as JSON, atomically. */
  async save(path: string): Promise<void> {
    await writeTextAtomic(path, JSON.stringify(this.toJSON()) + "\n");
  }
}
