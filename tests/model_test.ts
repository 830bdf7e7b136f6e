import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { CausalLM, gatherLogProbs } from "../lib/models/causal_lm.ts";
import { embed } from "../lib/models/layers.ts";
import { embedOneHot } from "../lib/models/_reference.ts";
import { Rng } from "../lib/util/rng.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { modelConfig } from "../lib/models/config.ts";
import { assertAllClose, assertEquals, assertGreater } from "./assert.ts";
import { checkRejections } from "./_bad_input.ts";

await initBackend("wasm");

const small = { vocabSize: 50, dModel: 32, nLayers: 2, nHeads: 4, context: 16, dropout: 0 };

Deno.test("CausalLM.logits() is causal: changing a future token leaves earlier logits unchanged", async () => {
  const lm = CausalLM.create(small, 1);
  const a = tf.tensor2d([[1, 5, 6, 7, 8, 9]], undefined, "int32");
  const b = tf.tensor2d([[1, 5, 6, 7, 20, 30]], undefined, "int32");
  const la = lm.logits(a), lb = lm.logits(b);
  const ea = await la.slice([0, 0, 0], [1, 4, 50]).data();
  const eb = await lb.slice([0, 0, 0], [1, 4, 50]).data();
  assertAllClose(ea, eb, 1e-6);
  const fa = await la.slice([0, 4, 0], [1, 1, 50]).data();
  const fb = await lb.slice([0, 4, 0], [1, 1, 50]).data();
  let diff = 0;
  for (let i = 0; i < fa.length; i++) diff += Math.abs(fa[i]! - fb[i]!);
  assertGreater(diff, 1e-4, "the changed position's own logits must change");
  tf.dispose([a, b, la, lb]);
  lm.dispose();
});

Deno.test("tokenLogProbs() equals a manual log-softmax gather", async () => {
  const lm = CausalLM.create(small, 2);
  const toks = [[1, 4, 9, 3, 2], [1, 7, 7, 8, 0]];
  const t = tf.tensor2d(toks, undefined, "int32");
  const lp = await lm.tokenLogProbs(t).array();
  const logits = await lm.logits(t.slice([0, 0], [2, 4]) as tf.Tensor2D).array();
  for (let b = 0; b < 2; b++) {
    for (let i = 0; i < 4; i++) {
      const row = logits[b]![i]!;
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
      const want = row[toks[b]![i + 1]!]! - lse;
      assertAllClose([lp[b]![i]!], [want], 1e-5);
    }
  }
  t.dispose();
  lm.dispose();
});

Deno.test("embed() with its scatter gradient equals the one-hot formulation, value and gradient", async () => {
  const rng = new Rng(3);
  const table = tf.tensor2d(Array.from({ length: 10 * 4 }, () => rng.normal()), [10, 4]);
  const ids = tf.tensor1d([3, 1, 3, 9, 0, 3], "int32");
  const w = tf.tensor2d(Array.from({ length: 6 * 4 }, () => rng.normal()), [6, 4]);
  const f1 = (t: tf.Tensor) => embed(ids, t as tf.Tensor2D).mul(w).sum() as tf.Scalar;
  const f2 = (t: tf.Tensor) => embedOneHot(ids, t as tf.Tensor2D).mul(w).sum() as tf.Scalar;
  assertAllClose(await f1(table).data(), await f2(table).data(), 1e-5);
  const g1 = await tf.grad(f1)(table).data();
  const g2 = await tf.grad(f2)(table).data();
  assertAllClose(g1, g2, 1e-5);
  tf.dispose([table, ids, w]);
});

Deno.test("sample() with the KV cache gives the same logits as a full recompute", async () => {
  const lm = CausalLM.create(small, 4);
  const prompts = [[1, 5, 6], [1, 9], [1, 11, 12, 13, 14]];
  const res = await lm.sample(
    prompts,
    { maxNewTokens: 6, returnLogits: true, eosId: -1 },
    new Rng(5),
  );
  const v = small.vocabSize;
  for (let r = 0; r < prompts.length; r++) {
    const seq = [...prompts[r]!, ...res.tokens[r]!];
    const full = lm.logits(tf.tensor2d([seq], undefined, "int32"));
    const all = await full.array();
    full.dispose();
    for (let s = 0; s < res.tokens[r]!.length; s++) {
      const want = all[0]![prompts[r]!.length - 1 + s]!;
      const got = res.stepLogits![s]!.subarray(r * v, (r + 1) * v);
      assertAllClose(got, want, 1e-4, `row ${r} step ${s}`);
    }
  }
  lm.dispose();
});

Deno.test("sample() logProbs equal teacher-forced tokenLogProbs", async () => {
  const lm = CausalLM.create(small, 6);
  const prompts = [[1, 5, 6], [1, 9]];
  const res = await lm.sample(prompts, { maxNewTokens: 5 }, new Rng(7));
  for (let r = 0; r < 2; r++) {
    const seq = [...prompts[r]!, ...res.tokens[r]!];
    const lp = await lm.tokenLogProbs(tf.tensor2d([seq], undefined, "int32")).array();
    const want = lp[0]!.slice(prompts[r]!.length - 1);
    assertAllClose(res.logProbs[r]!, want, 1e-4);
  }
  lm.dispose();
});

Deno.test("sample() is deterministic for a seed and stops rows at EOS", async () => {
  const lm = CausalLM.create(small, 8);
  const prompts = Array.from({ length: 8 }, (_, i) => [1, 5 + i]);
  const a = await lm.sample(prompts, { maxNewTokens: 10, eosId: 2 }, new Rng(9));
  const b = await lm.sample(prompts, { maxNewTokens: 10, eosId: 2 }, new Rng(9));
  assertEquals(a.tokens, b.tokens);
  for (let r = 0; r < prompts.length; r++) {
    const toks = a.tokens[r]!;
    const eosAt = toks.indexOf(2);
    if (eosAt >= 0) assertEquals(eosAt, toks.length - 1, "nothing after EOS");
    assertEquals(a.finished[r], eosAt >= 0);
  }
  lm.dispose();
});

Deno.test("sample() with topK 1 is greedy", async () => {
  const lm = CausalLM.create(small, 10);
  const res = await lm.sample(
    [[1, 3]],
    { maxNewTokens: 4, topK: 1, returnLogits: true, eosId: -1 },
    new Rng(1),
  );
  res.stepLogits!.forEach((l, s) => {
    let arg = 0;
    for (let i = 1; i < l.length; i++) if (l[i]! > l[arg]!) arg = i;
    assertEquals(res.tokens[0]![s], arg);
  });
  lm.dispose();
});

Deno.test("sample() rejects prompts that do not fit the context", async () => {
  const lm = CausalLM.create(small, 1);
  let msg = "";
  try {
    await lm.sample([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], { maxNewTokens: 10 }, new Rng(1));
  } catch (e) {
    msg = (e as Error).message;
  }
  assertEquals(msg, "prompt of 10 tokens + maxNewTokens 10 exceeds the model's context of 16");
  lm.dispose();
});

Deno.test("modelConfig() names the field, the value and what is allowed", async (t) => {
  await checkRejections(t, [
    {
      name: "heads that do not divide the default width",
      call: () => modelConfig({ nHeads: 3 }),
      cls: ConfigError,
      message: "model.dModel must be divisible by model.nHeads, got dModel 128 and nHeads 3",
    },
    {
      name: "heads that do not divide a given width",
      call: () => modelConfig({ dModel: 16, nHeads: 3 }),
      cls: ConfigError,
      message: "model.dModel must be divisible by model.nHeads, got dModel 16 and nHeads 3",
    },
    {
      name: "a dropout of 1.5",
      call: () => modelConfig({ dropout: 1.5 }),
      cls: ConfigError,
      message: "model.dropout must be a number >= 0 and < 1, got 1.5",
    },
    {
      name: "a context of 1",
      call: () => modelConfig({ context: 1 }),
      cls: ConfigError,
      message: "model.context must be an integer >= 2, got 1",
    },
  ]);
});

Deno.test("gatherLogProbs() rows sum to one over the vocabulary", async () => {
  const logits = tf.randomNormal([1, 1, 6], 0, 1, "float32", 1) as tf.Tensor3D;
  let total = 0;
  for (let k = 0; k < 6; k++) {
    const lp = gatherLogProbs(logits, tf.tensor2d([[k]], undefined, "int32"));
    total += Math.exp((await lp.data())[0]!);
  }
  assertAllClose([total], [1], 1e-5);
});
