/**
 * A byte-level BPE tokenizer (Sennrich et al. 2016; byte-level as in GPT-2, Radford et al.
 * 2019) over corpus-style words: the four special tokens (PAD 0, BOS 1, EOS 2, UNK 3), the
 * 256 bytes, then the merges learned from the training sentences.
 *
 * Every word is encoded as the bytes of `" " + word`, so pieces carry the word start (GPT-2's
 * `Ġ`) and decoding can split the bytes back into words, which {@link joinWords} turns
 * into readable text: "the film , however ." decodes to "the film, however.". Any text
 * encodes: a character no merge covers falls back to its bytes, so encode never gives UNK
 * (UNK_ID stays reserved, and decode still writes it, in case a model samples it).
 *
 * Training is deterministic (no seed): see {@link BpeTokenizer.fit}.
 *
 * @module
 */
import { FileFormatError } from "../util/errors.ts";
import { checkField } from "../util/schema.ts";
import { writeTextAtomic } from "../util/atomic_write.ts";
import { BOS_ID, EOS_ID, PAD_ID, SPECIAL_TOKENS, UNK_ID } from "./special_tokens.ts";
import { joinWords, splitText } from "./detokenize.ts";
import type { CoverageReport, DecodeOptions, Tokenizer } from "./tokenizer_api.ts";
import {
  applyMerges,
  BYTE_CHARS,
  concatBytes,
  FIRST_MERGE_ID,
  learnMerges,
  mergesFromJson,
  PAIR_BASE,
  wholeChars,
  wordSymbols,
} from "./_bpe.ts";
import { preview, readTokenizerJson } from "./_tokenizer_file.ts";

/** The `format` tag (layout name and version) of a saved BPE tokenizer, checked on load. */
export const BPE_TOKENIZER_FORMAT = "rlhf-kit/bpe-tokenizer@1";

/**
 * A BPE tokenizer as JSON (saved files and checkpoints). The merges alone define it: ids
 * 0..3 are the specials, 4..259 the bytes 0..255, and merge `i` is id `260 + i`.
 */
export interface BpeTokenizerJson {
  /** {@link BPE_TOKENIZER_FORMAT}, checked on load. */
  format: typeof BPE_TOKENIZER_FORMAT;
  /**
   * Merges in the order learned, GPT-2 style: `"left right"`, each piece written with
   * GPT-2's printable byte alphabet (a space is `Ġ`), e.g. `"Ġ t"`, `"Ġt he"`.
   */
  merges: string[];
}

/** Cached words per tokenizer: enough for Brown's ~50k word types, bounded for long runs. */
const CACHE_LIMIT = 200_000;

const utf8 = new TextDecoder("utf-8", { fatal: false });

/** Byte-level BPE: corpus words ↔ subword ids, no UNK; immutable once built. */
export class BpeTokenizer implements Tokenizer {
  /** Merges as `[left, right]` ids; merge `i` makes id `FIRST_MERGE_ID + i`. */
  readonly #merges: readonly (readonly number[])[];
  /** Bytes of each id (empty for the specials). */
  readonly #bytes: readonly Uint8Array[];
  /** Printable piece of each id (GPT-2 byte alphabet; the specials' surface forms). */
  readonly #pieces: readonly string[];
  /** Whether each id's bytes are not whole UTF-8 characters (the byte fallback). */
  readonly #partial: Uint8Array;
  /** Pair key → merge index. */
  readonly #rank = new Map<number, number>();
  /** Word → its ids, filled by {@link BpeTokenizer.encodeWord}. */
  readonly #cache = new Map<string, readonly number[]>();

  /**
   * Build from merges (id pairs). Prefer {@link BpeTokenizer.fit} or
   * {@link BpeTokenizer.fromJSON}, which validate.
   */
  private constructor(merges: readonly (readonly number[])[]) {
    this.#merges = merges.map((m) => Object.freeze([...m]));
    const bytes: Uint8Array[] = SPECIAL_TOKENS.map(() => new Uint8Array());
    const pieces: string[] = [...SPECIAL_TOKENS];
    for (let b = 0; b < 256; b++) {
      bytes.push(Uint8Array.of(b));
      pieces.push(BYTE_CHARS[b]!);
    }
    merges.forEach(([a, b], i) => {
      bytes.push(concatBytes([bytes[a!]!, bytes[b!]!]));
      pieces.push(pieces[a!]! + pieces[b!]!);
      this.#rank.set(a! * PAIR_BASE + b!, i);
    });
    this.#bytes = bytes;
    this.#pieces = Object.freeze(pieces);
    this.#partial = Uint8Array.from(bytes, (b) => (wholeChars(b) ? 0 : 1));
  }

  /**
   * Learn merges from tokenised sentences until the vocabulary has `vocabSize` ids.
   * Word counts come first; each step then merges the most frequent adjacent pair within
   * words (counted over occurrences), ties going to the smaller left id, then the smaller
   * right id, so the result depends only on the word counts: no seed, and sentence order
   * does not matter. Merges never cross words.
   *
   * @param sentences words per sentence (e.g. `sentencesOf(split.train)`).
   * @param vocabSize total size including the 4 specials and 256 bytes: an integer in
   *   [260, 2^20]. The vocabulary is smaller when the words run out of pairs to merge.
   * @throws ConfigError naming `vocabSize` when it is out of range.
   * @example
   * ```ts
   * import { BpeTokenizer } from "./bpe_tokenizer.ts";
   * const tok = BpeTokenizer.fit([["the", "then", "the"]], 263);
   * // " t", "t h" and "h e" occur 3 times each: " t" has the smallest left id (space),
   * // then "h e" beats " t h" (h is id 108, " t" is 260), then " t" + "he"
   * if (tok.vocab.slice(260).join() !== "Ġt,he,Ġthe") throw new Error(tok.vocab.join());
   * if (tok.encode(["the", "then"]).join() !== "262,262,114") throw new Error();
   * ```
   */
  static fit(sentences: readonly (readonly string[])[], vocabSize: number): BpeTokenizer {
    checkField("vocabSize", vocabSize, {
      type: "number",
      int: true,
      min: FIRST_MERGE_ID,
      max: PAIR_BASE,
      doc: "BPE vocabulary size including the 4 special tokens and 256 bytes",
    });
    const counts = new Map<string, number>();
    for (const s of sentences) for (const w of s) counts.set(w, (counts.get(w) ?? 0) + 1);
    return new BpeTokenizer(learnMerges(counts, vocabSize - FIRST_MERGE_ID));
  }

  /** Number of ids, specials included (ids run from 0 to `vocabSize − 1`). */
  get vocabSize(): number {
    return this.#bytes.length;
  }

  /** Printable pieces in id order (frozen): the specials, the 256 bytes, then the merges. */
  get vocab(): readonly string[] {
    return this.#pieces;
  }

  /**
   * The printable piece of `id`: its bytes in GPT-2's byte alphabet (a word-initial space
   * is `Ġ`; non-ASCII bytes are other letters), or a special's surface form.
   * @throws RangeError when `id` is not an integer in [0, vocabSize).
   */
  pieceOf(id: number): string {
    const p = this.#pieces[id];
    if (p === undefined) {
      throw new RangeError(
        `token id ${id} is outside the vocabulary (ids 0..${this.#pieces.length - 1})`,
      );
    }
    return p;
  }

  /**
   * Ids of one corpus-style word (with its word-start marker), cached per word. A fresh
   * array: changing it does not change the cache.
   */
  encodeWord(word: string): number[] {
    return [...this.#wordIds(word)];
  }

  /**
   * Ids of corpus-style words (as in the corpus or from {@link splitText}), never UNK or
   * another special: a special's surface form (`<unk>`) is encoded as its bytes. No BOS or
   * EOS is added. Words should not contain spaces: a space splits a word when decoding.
   */
  encode(words: readonly string[]): number[] {
    const ids: number[] = [];
    for (const w of words) ids.push(...this.#wordIds(w));
    return ids;
  }

  /**
   * Ids of plain text: {@link splitText} (lower case, punctuation split off), then
   * {@link BpeTokenizer.encode}. `decode(encodeText(t))` is `joinWords(splitText(t))`.
   */
  encodeText(text: string): number[] {
    return this.encode(splitText(text));
  }

  /**
   * Words of `ids`: PAD and BOS skipped, stopping at the first EOS, UNK written as the
   * word `opts.unk` (default `<unk>`). The tokens' bytes are joined, read as UTF-8 (a
   * malformed sequence becomes U+FFFD) and split at the word-start spaces.
   * @throws RangeError on an id outside the vocabulary.
   */
  decodeWords(ids: ArrayLike<number>, opts: DecodeOptions = {}): string[] {
    const stopAtEos = opts.stopAtEos ?? true;
    const unk = opts.unk ?? SPECIAL_TOKENS[UNK_ID];
    const words: string[] = [];
    let run: Uint8Array[] = [];
    const flush = () => {
      if (run.length === 0) return;
      for (const w of utf8.decode(concatBytes(run)).split(" ")) if (w !== "") words.push(w);
      run = [];
    };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id === PAD_ID || id === BOS_ID) continue;
      if (id === EOS_ID) {
        if (stopAtEos) break;
        continue;
      }
      if (id === UNK_ID) {
        flush();
        words.push(unk);
        continue;
      }
      const bytes = this.#bytes[id];
      if (bytes === undefined) this.pieceOf(id); // throws the RangeError
      run.push(bytes!);
    }
    flush();
    return words;
  }

  /**
   * Readable text of `ids`: {@link BpeTokenizer.decodeWords} joined by {@link joinWords}.
   * @example
   * ```ts
   * import { BpeTokenizer } from "./bpe_tokenizer.ts";
   * const words = ["the", "film", ",", "however", "."];
   * const tok = BpeTokenizer.fit([words], 270);
   * const text = tok.decode([1, ...tok.encode(words), 2, 0]);
   * if (text !== "the film, however.") throw new Error(text);
   * ```
   */
  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    return joinWords(this.decodeWords(ids, opts));
  }

  /** Share of the tokens of `sentences` that are not UNK: 1 (encode never gives UNK); NaN when empty. */
  coverage(sentences: readonly (readonly string[])[]): number {
    const r = this.coverageReport(sentences);
    return r.tokens === 0 ? NaN : 1 - r.unkTokens;
  }

  /**
   * Tokens per word, the share of word occurrences that are a single token, the share of
   * single-byte tokens and of byte-fallback tokens (parts of a multi-byte character).
   */
  coverageReport(sentences: readonly (readonly string[])[]): CoverageReport {
    let words = 0;
    let tokens = 0;
    let single = 0;
    let bytes = 0;
    let fallback = 0;
    for (const s of sentences) {
      for (const w of s) {
        const ids = this.#wordIds(w);
        words++;
        tokens += ids.length;
        if (ids.length === 1) single++;
        for (const id of ids) {
          if (id < FIRST_MERGE_ID) bytes++;
          if (this.#partial[id]) fallback++;
        }
      }
    }
    const share = (n: number) => (tokens === 0 ? NaN : n / tokens);
    return {
      words,
      tokens,
      tokensPerWord: tokens / words,
      singleTokenWords: single / words,
      singleByteTokens: share(bytes),
      byteFallbackTokens: share(fallback),
      unkTokens: share(0),
    };
  }

  /** Σ tokens / Σ words of `sentences`; NaN when there are no words. */
  tokensPerWord(sentences: readonly (readonly string[])[]): number {
    return this.coverageReport(sentences).tokensPerWord;
  }

  /** The tokenizer as plain JSON (a fresh object). */
  toJSON(): BpeTokenizerJson {
    return {
      format: BPE_TOKENIZER_FORMAT,
      merges: this.#merges.map(([a, b]) => `${this.#pieces[a!]} ${this.#pieces[b!]}`),
    };
  }

  /**
   * Rebuild a tokenizer from {@link BpeTokenizer.toJSON} output, checking it.
   * @param obj parsed JSON.
   * @param source names the origin in error messages (a file path), default "tokenizer JSON".
   * @throws FileFormatError naming the source and what is wrong (format, a malformed merge,
   *   a piece not defined before its merge, a merge that repeats a piece).
   */
  static fromJSON(obj: unknown, source = "tokenizer JSON"): BpeTokenizer {
    const bad = (what: string): never => {
      throw new FileFormatError(`${source}: ${what}`);
    };
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
      return bad(`expected an object with format and merges, got ${preview(obj)}`);
    }
    const o = obj as Record<string, unknown>;
    if (o.format !== BPE_TOKENIZER_FORMAT) {
      bad(`format must be ${JSON.stringify(BPE_TOKENIZER_FORMAT)}, got ${preview(o.format)}`);
    }
    return new BpeTokenizer(mergesFromJson(o.merges, bad));
  }

  /** Write the tokenizer as JSON to `path` atomically (temp file, then rename). */
  async save(path: string): Promise<void> {
    await writeTextAtomic(path, JSON.stringify(this.toJSON()) + "\n");
  }

  /**
   * Read a tokenizer written by {@link BpeTokenizer.save}.
   * @throws FileFormatError naming `path` when the file is missing, is not JSON, or is not
   *   a valid BPE tokenizer.
   */
  static async load(path: string): Promise<BpeTokenizer> {
    return BpeTokenizer.fromJSON(await readTokenizerJson(path), `tokenizer file ${path}`);
  }

  /** The ids of `word`, from the cache or BPE-encoded and cached (frozen, shared). */
  #wordIds(word: string): readonly number[] {
    let ids = this.#cache.get(word);
    if (ids === undefined) {
      ids = Object.freeze(applyMerges(wordSymbols(word), this.#rank));
      // a crude bound: clearing is rare (Brown has ~50k word types) and keeps memory flat
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
      this.#cache.set(word, ids);
    }
    return ids;
  }
}
