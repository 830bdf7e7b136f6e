/**
 * Ids of the special tokens every tokenizer and model of the kit shares.
 *
 * @module
 */

/** Padding: never a target, masked out of every loss. */
export const PAD_ID = 0;
/** Beginning of sequence: every prompt and training sequence starts with it. */
export const BOS_ID = 1;
/** End of sequence: sampling stops a row when it is emitted. */
export const EOS_ID = 2;
/** Unknown word: anything outside the vocabulary. */
export const UNK_ID = 3;
/** The special tokens' surface forms, by id. */
export const SPECIAL_TOKENS = ["<pad>", "<bos>", "<eos>", "<unk>"] as const;
