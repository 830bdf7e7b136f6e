/**
 * Data: the Brown corpus, tokenizers (word-level and byte-level BPE), prompts, batches,
 * annotators, preference tables, and the bandit and token-level exact tasks.
 *
 * @module
 */
export * from "./annotator_config.ts";
export * from "./annotator_p_correct.ts";
export * from "./annotator_pairs.ts";
export * from "./annotators.ts";
export * from "./bandit.ts";
export * from "./bpe_tokenizer.ts";
export * from "./brown.ts";
export * from "./davidson_ties.ts";
export * from "./detokenize.ts";
export * from "./lm_batches.ts";
export * from "./load_tokenizer.ts";
export * from "./luce_model.ts";
export * from "./preference_columns.ts";
export * from "./preference_dataset.ts";
export * from "./preference_pairs.ts";
export * from "./preference_split.ts";
export * from "./preference_table.ts";
export * from "./prompts.ts";
export * from "./response_batch.ts";
export * from "./special_tokens.ts";
export * from "./token_task.ts";
export * from "./token_task_file.ts";
export * from "./tokenizer.ts";
export * from "./tokenizer_api.ts";
export * from "./unpaired_feedback.ts";
