/**
 * The kit's public API in one flat namespace, as TRL's top-level package: every name of
 * every layer, plus the shared pieces (errors, `Rng`, config schemas, tensor types,
 * progress, atomic writes). The layers follow the data flow of docs/architecture.md
 * ("Layers"): data → models → losses → train → eval → sweep → plot, with backend
 * selection beside them.
 *
 * Each layer is also its own entry point (`@rlhf/kit/losses`, `@rlhf/kit/train`, …),
 * for code that wants one layer or a namespace: `import * as losses from
 * "@rlhf/kit/losses"`. Names are unique across layers, so both ways name a symbol alike.
 *
 * @example
 * ```ts
 * import { CausalLM, initBackend, Rng } from "./mod.ts";
 * await initBackend("cpu");
 * const lm = CausalLM.create({ vocabSize: 20, dModel: 8, nLayers: 1, nHeads: 2, context: 8 }, 0);
 * const out = await lm.sample([[1, 4]], { maxNewTokens: 3 }, new Rng(0));
 * if (out.tokens[0]!.length === 0) throw new Error("no tokens");
 * lm.dispose();
 * ```
 *
 * @module
 */
export * from "./backend/mod.ts";
export * from "./util/errors.ts";
export * from "./util/tensor_types.ts";
export * from "./util/rng.ts";
export * from "./util/schema.ts";
export * from "./util/progress.ts";
export * from "./util/atomic_write.ts";
export * from "./data/mod.ts";
export * from "./models/mod.ts";
export * from "./losses/mod.ts";
export * from "./train/mod.ts";
export * from "./eval/mod.ts";
export * from "./rewards/mod.ts";
export * from "./sweep/mod.ts";
export * from "./plot/mod.ts";
