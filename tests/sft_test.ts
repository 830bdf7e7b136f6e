import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { CausalLM } from "../lib/models/causal_lm.ts";
import { sftConfig, trainSft } from "../lib/train/sft.ts";
import { warmupCosine } from "../lib/train/schedule.ts";
import { sftLoss } from "../lib/losses/sft.ts";
import { padBatch } from "../lib/data/lm_batches.ts";
import { Rng } from "../lib/util/rng.ts";
import { ConfigError, NumericalError } from "../lib/util/errors.ts";
import { AdamW, optimiserStep } from "../lib/train/adamw.ts";
import {
  assertAlmostEquals,
  assertEquals,
  assertGreater,
  assertLess,
  assertRejects,
} from "./assert.ts";
import { checkRejections } from "./_bad_input.ts";

await initBackend("wasm");

const small = { vocabSize: 40, dModel: 32, nLayers: 2, nHeads: 4, context: 12, dropout: 0 };

/** Sequences from a tiny deterministic grammar: easy to learn, so loss must fall. */
function toyCorpus(n: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const start = 4 + rng.int(10);
    const len = 3 + rng.int(6);
    return [1, ...Array.from({ length: len }, (_, i) => 4 + ((start + 3 * i) % 36)), 2];
  });
}

const quiet = { progress: false as const };

Deno.test("trainSft() lowers validation perplexity on a learnable corpus", async () => {
  const lm = CausalLM.create(small, 1);
  const res = await trainSft({
    model: lm,
    train: toyCorpus(200, 1),
    val: toyCorpus(40, 2),
    config: sftConfig({
      steps: 60,
      batchSize: 16,
      evalEvery: 30,
      logEvery: 10,
      lr: 1e-2,
      warmupSteps: 5,
    }),
    ...quiet,
  });
  const ppls = res.rows.filter((r) => "val/ppl" in r).map((r) => r["val/ppl"]!);
  assertLess(res.valPpl!, 6, `final val ppl ${res.valPpl}`);
  assertLess(ppls[ppls.length - 1]!, ppls[0]!);
  lm.dispose();
});

Deno.test("trainSft({keepBest}) leaves the weights of the lowest validation perplexity", async () => {
  // Training on one grammar while validating on another only hurts validation, so the
  // starting weights are the best and must come back; on the same grammar a later step wins.
  const shifted = toyCorpus(40, 2).map((s) => s.map((t) => (t >= 4 ? 4 + ((t - 4 + 17) % 36) : t)));
  const config = sftConfig({ steps: 40, batchSize: 16, evalEvery: 10, logEvery: 10, lr: 3e-2 });
  const lm = CausalLM.create(small, 1);
  const before = new Map([...lm.params].map(([k, v]) => [k, v.dataSync().slice()]));
  const res = await trainSft({
    model: lm,
    train: toyCorpus(200, 1),
    val: shifted,
    config,
    keepBest: true,
    ...quiet,
  });
  assertEquals(res.bestStep, 0);
  for (const [k, v] of lm.params) assertEquals(v.dataSync(), before.get(k)!, k);
  lm.dispose();
  const lm2 = CausalLM.create(small, 1);
  const res2 = await trainSft({
    model: lm2,
    train: toyCorpus(200, 1),
    val: toyCorpus(40, 2),
    config,
    keepBest: true,
    ...quiet,
  });
  const ppls = res2.rows.filter((r) => "val/ppl" in r);
  const bestRow = ppls.reduce((a, b) => (b["val/ppl"]! < a["val/ppl"]! ? b : a));
  assertEquals(res2.bestStep, bestRow.step);
  assertEquals(res2.valPpl, bestRow["val/ppl"]);
  lm2.dispose();
});

Deno.test("trainSft() gives identical losses for the same seed", async () => {
  const losses = async () => {
    const lm = CausalLM.create({ ...small, dropout: 0.1 }, 3);
    const res = await trainSft({
      model: lm,
      train: toyCorpus(100, 3),
      config: sftConfig({ steps: 12, batchSize: 8, logEvery: 1, seed: 7 }),
      ...quiet,
    });
    lm.dispose();
    return res.rows.map((r) => r["loss/sft"]);
  };
  const a = await losses(), b = await losses();
  assertEquals(a, b);
});

Deno.test("trainSft() does not grow the tensor count over 20 steps", async () => {
  const lm = CausalLM.create(small, 4);
  const train = toyCorpus(64, 4);
  // Warm up once so lazily created constants (causal masks) exist before counting.
  await trainSft({
    model: lm,
    train,
    config: sftConfig({ steps: 2, batchSize: 8, logEvery: 1 }),
    ...quiet,
  });
  const before = tf.memory().numTensors;
  await trainSft({
    model: lm,
    train,
    config: sftConfig({ steps: 20, batchSize: 8, logEvery: 5 }),
    ...quiet,
  });
  assertEquals(tf.memory().numTensors, before);
  lm.dispose();
});

Deno.test("trainSft() stops with a NumericalError naming the step when the loss is NaN", async () => {
  const lm = CausalLM.create(small, 5);
  lm.params.get("lnf.g")!.assign(tf.fill([small.dModel], NaN));
  await assertRejects(
    () =>
      trainSft({
        model: lm,
        train: toyCorpus(32, 5),
        config: sftConfig({ steps: 5, batchSize: 8 }),
        ...quiet,
      }),
    NumericalError,
    "loss/sft is NaN at step 0",
  );
  lm.dispose();
});

Deno.test("sftConfig() names the bad field, the value and what is allowed", async (t) => {
  await checkRejections(t, [
    {
      name: "a batch size of 0",
      call: () => sftConfig({ batchSize: 0 }),
      cls: ConfigError,
      message: "sft.batchSize must be an integer >= 1, got 0",
    },
    {
      name: "a negative learning rate",
      call: () => sftConfig({ lr: -1 }),
      cls: ConfigError,
      message: "sft.lr must be a number > 0, got -1",
    },
    {
      name: "a string where a step count goes",
      call: () => sftConfig({ steps: "100" as never }),
      cls: ConfigError,
      message: 'sft.steps must be an integer >= 1, got "100"',
    },
    {
      name: "an unknown key",
      call: () => sftConfig({ stepz: 3 } as never),
      cls: ConfigError,
      message: "unknown key sft.stepz",
    },
  ]);
});

Deno.test("sftLoss() is the masked mean negative log-likelihood", async () => {
  const lp = tf.tensor2d([[-1, -2, -3], [-4, -5, -6]]);
  const mask = tf.tensor2d([[1, 1, 0], [1, 0, 0]]);
  assertAlmostEquals((await sftLoss(lp, mask).data())[0]!, (1 + 2 + 4) / 3, 1e-6);
});

Deno.test("padBatch() right-pads and masks only real targets", () => {
  const b = padBatch([[1, 5, 6, 2], [1, 7, 2]]);
  assertEquals(Array.from(b.tokens), [1, 5, 6, 2, 1, 7, 2, 0]);
  assertEquals(Array.from(b.mask), [1, 1, 1, 1, 1, 0]);
  assertEquals(b.realTokens, 5);
});

Deno.test("warmupCosine() warms up linearly then decays to minLr", () => {
  const o = { lr: 1, minLr: 0.1, warmupSteps: 10, totalSteps: 110 };
  assertAlmostEquals(warmupCosine(0, o), 0.1);
  assertAlmostEquals(warmupCosine(9, o), 1);
  assertAlmostEquals(warmupCosine(60, o), 0.55);
  assertAlmostEquals(warmupCosine(110, o), 0.1);
});

Deno.test("AdamW clips the global gradient norm and decays only matrices", async () => {
  const w = tf.variable(tf.tensor2d([[3, 4]]), true, "clip_w");
  const b = tf.variable(tf.tensor1d([0]), true, "clip_b");
  const opt = new AdamW(new Map<string, tf.Variable>([["w", w], ["b", b]]), {
    gradClip: 1,
    weightDecay: 0.5,
  });
  const { loss, gradNorm } = optimiserStep(
    opt,
    () => w.sum().add(b.sum()).mul(10) as tf.Scalar,
    0.1,
  );
  // grads are all 10: norm √300; the first Adam step moves each weight by lr·sign(g).
  assertAlmostEquals((await gradNorm.data())[0]!, Math.sqrt(300), 1e-4);
  const wv = await w.data(), bv = await b.data();
  assertAlmostEquals(wv[0]!, 3 - 0.1 * (1 + 0.5 * 3), 1e-5);
  assertAlmostEquals(bv[0]!, -0.1, 1e-5);
  assertGreater((await loss.data())[0]!, 0);
  opt.dispose();
  tf.dispose([w, b, loss, gradNorm]);
});
