/**
 * What every tokenizer of the kit offers, so the data stage, checkpoints and notebooks can
 * hold a word-level `WordTokenizer` (tokenizer.ts) or a subword `BpeTokenizer`
 * (bpe_tokenizer.ts) alike; load_tokenizer.ts reads either from JSON.
 *
 * Both work on corpus-style words (lower case, punctuation as words of their own; see
 * detokenize.ts): `encode(words)` for corpus sentences, `encodeText(text)` for typed or
 * decoded text, and `decode(ids)` back to readable text. Both share the special ids of
 * special_tokens.ts (PAD 0, BOS 1, EOS 2, UNK 3); neither adds BOS or EOS by itself.
 *
 * @module
 */

/** Options of {@link Tokenizer.decode} and {@link Tokenizer.decodeWords}. */
export interface DecodeOptions {
  /** Stop at the first EOS (default true); otherwise EOS is skipped like PAD and BOS. */
  stopAtEos?: boolean;
  /** How UNK is written (default `"<unk>"`, which {@link Tokenizer.encodeText} reads back). */
  unk?: string;
}

/**
 * How a tokenizer covers some sentences. Shares are over token or word occurrences, not
 * types, so frequent words weigh as often as they occur; every share is NaN when the
 * sentences have no words.
 */
export interface CoverageReport {
  /** Word occurrences in the sentences. */
  words: number;
  /** Tokens they encode to. */
  tokens: number;
  /** `tokens / words`: 1 for a word-level tokenizer, above 1 for subwords. */
  tokensPerWord: number;
  /** Share of word occurrences encoded as exactly one token that is not UNK. */
  singleTokenWords: number;
  /**
   * Share of tokens that are a single byte, no merge applied: a lone ASCII character or a
   * byte of a multi-byte one (0 for a word tokenizer).
   */
  singleByteTokens: number;
  /**
   * Share of tokens that are the byte fallback: they hold part of a multi-byte UTF-8
   * character, one that no merge covers whole (0 for a word tokenizer).
   */
  byteFallbackTokens: number;
  /** Share of tokens that are UNK (0 for a byte-level tokenizer). */
  unkTokens: number;
}

/** The JSON form of any tokenizer: its `format` tag names the layout and its version. */
export interface TokenizerJsonBase {
  /** Layout and version, e.g. `rlhf-kit/word-tokenizer@1`; loaders dispatch on it. */
  format: string;
}

/** Token ids ↔ corpus-style words and text, with the kit's special tokens. */
export interface Tokenizer {
  /** Number of ids, specials included (ids run from 0 to `vocabSize − 1`). */
  readonly vocabSize: number;
  /** Ids of corpus-style words (e.g. a corpus sentence); no BOS or EOS is added. */
  encode(words: readonly string[]): number[];
  /** Ids of plain text, split into corpus-style words first (see `splitText`). */
  encodeText(text: string): number[];
  /** Words of `ids`: PAD and BOS skipped, stopping at the first EOS (by default). */
  decodeWords(ids: ArrayLike<number>, opts?: DecodeOptions): string[];
  /** Readable text of `ids`: {@link Tokenizer.decodeWords} joined by `joinWords`. */
  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string;
  /** A printable form of one token, for tables of tokens; throws RangeError off the vocabulary. */
  pieceOf(id: number): string;
  /** Share of the tokens of `sentences` that are not UNK; NaN when there are none. */
  coverage(sentences: readonly (readonly string[])[]): number;
  /** Tokens per word, single-token words, byte, byte-fallback and UNK shares of `sentences`. */
  coverageReport(sentences: readonly (readonly string[])[]): CoverageReport;
  /** Σ tokens / Σ words of `sentences`; NaN when there are no words. */
  tokensPerWord(sentences: readonly (readonly string[])[]): number;
  /** The tokenizer as plain JSON, with its `format` tag (checkpoints embed this). */
  toJSON(): TokenizerJsonBase;
  /** Write {@link Tokenizer.toJSON} to `path` atomically. */
  save(path: string): Promise<void>;
}
