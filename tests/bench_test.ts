import * as tf from "@tensorflow/tfjs";
import { fastKernels, initBackend, setFastKernels } from "../lib/backend/mod.ts";
import { CausalLM, gatherLogProbs } from "../lib/models/causal_lm.ts";
import { gelu } from "../lib/models/layers.ts";
import { gatherLogProbsReference, geluTanh } from "../lib/models/_reference.ts";
import { TokenDrawer } from "../lib/models/sampling.ts";
import { sampleNoCache } from "../tools/bench/nocache_sampling.ts";
import { BENCH_SECTIONS, runSections } from "../tools/bench/sections.ts";
import { measure, summarize } from "../tools/bench/timing.ts";
import { BENCH_MODELS } from "../tools/bench/workloads.ts";
import { trainStepFlops } from "../tools/bench/flops.ts";
import { formatBackend } from "../tools/bench/report.ts";
import { backendThreads } from "../tools/bench/child.ts";
import { Rng } from "../lib/util/rng.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { type BenchReport, benchUsage, parseBenchArgs } from "../tools/bench/main.ts";
import { runTask } from "./_subprocess.ts";
import {
  assert,
  assertAllClose,
  assertEquals,
  assertGreater,
  assertStringIncludes,
  assertThrows,
} from "./assert.ts";

const info = await initBackend("wasm");

function randn(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.normal()), shape);
}

/** Run `f` with the wasm matmul rewrite on and off; return both results' values. */
async function fastAndPlain(f: () => tf.Tensor): Promise<[Float32Array, Float32Array]> {
  assert(fastKernels("wasm"), "initBackend('wasm') installs the matmul rewrite");
  const fast = f();
  const was = setFastKernels(false);
  try {
    const plain = f();
    const out = [await fast.data(), await plain.data()] as [Float32Array, Float32Array];
    tf.dispose([fast, plain]);
    return out;
  } finally {
    setFastKernels(was);
  }
}

Deno.test("wasm: the matmul rewrite equals the stock kernel for every transpose and batch layout", async () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[5, 7], [7, 3], false, false],
    [[7, 5], [7, 3], true, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true],
    [[1, 7, 5], [1, 7, 3], true, false],
    [[4, 5, 7], [7, 3], false, false], // batched left, one right matrix: folded into rows
    [[2, 2, 5, 7], [1, 3, 7], false, true],
    [[4, 5, 7], [4, 7, 3], false, false], // batched both: the stock kernel
    [[16, 40], [16, 3], true, false], // aᵀ·b computed as (bᵀ·a)ᵀ
    [[16, 40], [3, 16], true, true],
    [[1, 16, 40], [16, 3], true, false],
  ];
  for (const [sa, sb, ta, tb] of cases) {
    const a = randn(sa, 1), b = randn(sb, 2);
    const [fast, plain] = await fastAndPlain(() => tf.matMul(a, b, ta, tb));
    assertAllClose(fast, plain, 1e-5, `matMul ${sa} ${sb} ${ta} ${tb}`);
    tf.dispose([a, b]);
  }
});

Deno.test("wasm: slices, splits and leading-axis sums equal the stock kernels", async () => {
  const x = randn([6, 5, 4, 3], 9);
  const cases: [string, () => tf.Tensor][] = [
    ["slice 4d", () => x.slice([1, 2, 0, 1], [3, 2, 4, 2])],
    ["slice rows", () => x.slice([2, 0, 0, 0], [3, 5, 4, 3])],
    ["slice 2d", () => x.reshape([30, 12]).slice([3, 5], [20, 4])],
    [
      "split cols",
      () => tf.concat(tf.split(x.reshape([30, 12]), [3, 4, 5], 1).map((t) => t.flatten())),
    ],
    ["split 3d", () => tf.concat(tf.split(x.reshape([6, 5, 12]), 3, 2), 0)],
    ["sum axis 0", () => x.reshape([30, 12]).sum(0)],
    ["sum axes 0,1", () => x.sum([1, 0])],
    ["sum keepDims", () => x.sum([0, 1, 2], true)],
    ["sum last axis", () => x.sum(3)], // not a leading run: the stock kernel
    ["sum all", () => x.sum()],
  ];
  for (const [name, f] of cases) {
    const [fast, plain] = await fastAndPlain(f);
    assertAllClose(fast, plain, 1e-5, name);
  }
  const s = x.sum([0, 1], true);
  assertEquals(s.shape, [1, 1, 4, 3]);
  tf.dispose([x, s]);
});

Deno.test("wasm: the matmul rewrite gives the right fused product and the stock gradients", async () => {
  const x = randn([6, 4], 3), w = randn([4, 5], 4), bias = randn([5], 5);
  const want = await tf.matMul(x, w).add(bias).data();
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    const a = ta ? x.transpose() : x, b = tb ? w.transpose() : w;
    // Compared with matMul + add: tfjs-backend-wasm 4.22's own fused kernel adds the wrong
    // bias entries to rows after the first when an operand is transposed (its slow path
    // indexes the bias by i·N + j), which the rewrite avoids by never taking that path.
    const fused = tf.fused.matMul({ a, b, bias, transposeA: ta, transposeB: tb });
    assertAllClose(await fused.data(), want, 1e-5, `fused ${ta} ${tb}`);
    fused.dispose();
  }
  // Backprop of y = x·w is made of transposed products: dx = dy·wᵀ, dw = xᵀ·dy.
  const grads = () => {
    const g = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.matMul(p, q).square().sum())([x, w]);
    return tf.concat([g[0]!.flatten(), g[1]!.flatten()]);
  };
  const [fast, plain] = await fastAndPlain(grads);
  assertAllClose(fast, plain, 1e-4, "gradients");
  tf.dispose([x, w, bias]);
});

Deno.test("gatherLogProbs() equals the plain logsumexp + one-hot formulation, value and gradient", async () => {
  const logits = randn([2, 3, 11], 6).mul(3) as tf.Tensor3D;
  const targets = tf.tensor2d([[0, 4, 10], [7, 7, 2]], undefined, "int32");
  const dy = randn([2, 3], 7);
  const f = (g: typeof gatherLogProbs) => (l: tf.Tensor) =>
    g(l as tf.Tensor3D, targets).mul(dy).sum() as tf.Scalar;
  assertAllClose(
    await gatherLogProbs(logits, targets).data(),
    await gatherLogProbsReference(logits, targets).data(),
    1e-5,
  );
  assertAllClose(
    await tf.grad(f(gatherLogProbs))(logits).data(),
    await tf.grad(f(gatherLogProbsReference))(logits).data(),
    1e-5,
  );
  tf.dispose([logits, targets, dy]);
});

Deno.test("gelu() via sigmoid equals the tanh form, value and gradient", async () => {
  const x = randn([64], 8).mul(3);
  assertAllClose(await gelu(x).data(), await geluTanh(x).data(), 1e-5);
  assertAllClose(
    await tf.grad((z: tf.Tensor) => gelu(z).sum())(x).data(),
    await tf.grad((z: tf.Tensor) => geluTanh(z).sum())(x).data(),
    1e-5,
  );
  x.dispose();
});

Deno.test("the broadcast position embedding equals explicit position ids", async () => {
  const lm = CausalLM.create({ vocabSize: 30, dModel: 16, nLayers: 1, nHeads: 2, context: 8 }, 1);
  const ids = tf.tensor2d([[1, 5, 6, 7], [1, 9, 9, 3]], undefined, "int32");
  const pos = tf.tensor2d([[0, 1, 2, 3], [0, 1, 2, 3]], undefined, "int32");
  const a = lm.logits(ids), b = lm.logits(ids, { positions: pos });
  assertAllClose(await a.data(), await b.data(), 1e-5);
  tf.dispose([ids, pos, a, b]);
  lm.dispose();
});

Deno.test("TokenDrawer at temperature 1 draws as a softmax categorical over the logits", () => {
  const v = 9;
  const row = Float32Array.from({ length: 2 * v }, (_, i) => Math.sin(i) * 3);
  const drawer = new TokenDrawer(v, 1, 0);
  const a = new Rng(4), b = new Rng(4);
  for (let k = 0; k < 20; k++) {
    const off = (k % 2) * v;
    const got = drawer.draw(row, off, a);
    const logits = Array.from(row.subarray(off, off + v));
    const max = Math.max(...logits);
    const w = logits.map((l) => Math.exp(l - max));
    const z = w.reduce((s, x) => s + x, 0);
    const want = b.categorical(w);
    assertEquals(got.token, want);
    assertAllClose([got.logProb], [logits[want]! - max - Math.log(z)], 1e-9);
  }
});

Deno.test("sampleNoCache() draws the same tokens as the KV-cache sampler", async () => {
  const lm = CausalLM.create({ vocabSize: 40, dModel: 16, nLayers: 2, nHeads: 2, context: 16 }, 2);
  const prompts = [[1, 5, 6], [1, 9], [1, 11, 12, 13, 14]];
  const opts = { maxNewTokens: 6, eosId: 2, returnLogits: true };
  const cached = await lm.sample(prompts, opts, new Rng(5));
  const plain = await sampleNoCache(lm, prompts, opts, new Rng(5));
  assertEquals(plain.tokens, cached.tokens);
  assertEquals(plain.finished, cached.finished);
  for (let r = 0; r < prompts.length; r++) {
    assertAllClose(plain.logProbs[r]!, cached.logProbs[r]!, 1e-4);
  }
  cached.stepLogits!.forEach((l, s) => assertAllClose(plain.stepLogits![s]!, l, 1e-4));
  lm.dispose();
});

Deno.test("summarize() and measure() report order statistics of the timings", async () => {
  const s = summarize([4, 1, 3, 2]);
  assertEquals([s.n, s.min, s.max, s.median, s.q25, s.q75], [4, 1, 4, 2.5, 1.75, 3.25]);
  let calls = 0;
  const m = await measure(() => calls++, { warmup: 2, repeats: 3 });
  assertEquals([calls, m.n, m.samples.length], [5, 3, 3]);
  assertThrows(() => summarize([]), RangeError, "at least one sample");
});

Deno.test("every bench section runs on a tiny model and returns well-formed figures", async () => {
  const { model, workload } = BENCH_MODELS.tiny!;
  const env = { info, model, workload, quick: true, profile: true, log: () => {} };
  await runSections(env, BENCH_SECTIONS); // creates the lasting causal mask of this context
  const before = tf.memory().numTensors;
  const figures = await runSections(env, BENCH_SECTIONS);
  assertEquals(figures.map((f) => f.id), [
    "train",
    "train-stock",
    "sample/kv-cache",
    "sample/no-cache",
    "ppo",
    "dpo",
  ]);
  for (const f of figures) {
    assert(Number.isFinite(f.tokensPerSecond) && f.tokensPerSecond > 0, f.id);
    assertEquals(f.ms.n, f.ms.samples.length);
    assert(f.label.length > 0 && f.tokensPerIteration > 0, f.id);
  }
  const train = figures[0]!;
  assertEquals(train.tokensPerIteration, workload.trainBatch * workload.trainLength);
  assertEquals(Object.keys(train.phases!), ["forward", "backward", "optimizer"]);
  assertGreater(train.kernels!.length, 0);
  assertEquals(train.extra?.fastKernels, true);
  assertEquals(figures[2]!.tokensPerIteration, workload.sampleBatch * workload.newTokens);
  assert(typeof figures[2]!.extra?.speedupOverNoCache === "number");
  assertEquals(tf.memory().numTensors, before, "sections dispose what they create");
});

Deno.test("formatBackend() names backend and machine on every line, or why it did not run", () => {
  const peak = {
    cores: 2,
    simd: "AVX2" as const,
    lanes: 8,
    flopsPerLane: 2,
    fmaUnits: 2,
    mhz: 2500,
    clockSource: "CPU MHz",
    gflops: 160,
    formula: "test",
  };
  const lines = formatBackend(
    {
      backend: "wasm",
      status: "ok",
      device: "wasm: test CPU",
      threads: 1,
      figures: [{
        id: "train",
        label: "training step",
        tokensPerSecond: 1234.5,
        tokensPerIteration: 1024,
        ms: summarize([800, 830, 900]),
        flopsPerIteration: 4.15e9, // 4.15e9 / 0.83 s = 5 GFLOP/s
        compare: "train-stock",
        phases: { forward: 200, backward: 500, optimizer: 130 },
      }],
    },
    "Test CPU, 2 cores",
    peak,
  );
  assertEquals(lines.length, 3);
  for (const l of lines) assertStringIncludes(l, "[wasm | Test CPU, 2 cores]");
  assertStringIncludes(lines[0]!, "device: wasm: test CPU; threads: 1");
  assertStringIncludes(lines[1]!, "train: 1,235 tokens/s (830.0 ms/iter, median of 3");
  // One thread of a 2-core, 160 GFLOP/s machine: 5 of 80 GFLOP/s.
  assertStringIncludes(lines[1]!, "5.0 GFLOP/s, 6.3% of the 1-core peak");
  assertStringIncludes(lines[1]!, "vs train-stock");
  assertStringIncludes(lines[2]!, "forward 200.0 ms, backward 500.0 ms, optimizer 130.0 ms");
  const missing = formatBackend(
    { backend: "tensorflow", status: "not-installed", message: "needs tfjs-node", figures: [] },
    "Test CPU",
  );
  assertEquals(missing, ["[tensorflow | Test CPU] not-installed: needs tfjs-node"]);
});

Deno.test("parseBenchArgs() defaults and names bad options", () => {
  const a = parseBenchArgs([]);
  assertEquals(a.backends, ["tensorflow", "webgpu", "wasm", "cpu"]);
  assertEquals(a.sections, BENCH_SECTIONS.map((s) => s.name));
  assertEquals([a.quick, a.out, a.peer, a.rounds], [
    false,
    "results/bench/bench.json",
    undefined,
    5,
  ]);
  const b = parseBenchArgs(["--backend", "wasm,webgpu", "--quick", "--sections", "sample"]);
  assertEquals([b.backends, b.sections, b.quick, b.rounds], [
    ["wasm", "webgpu"],
    ["sample"],
    true,
    1,
  ]);
  const c = parseBenchArgs(["--peer", "torch", "--rounds", "3", "--sections", "none"]);
  assertEquals([c.peer, c.rounds, c.sections], ["torch", 3, []]);
  assertEquals(parseBenchArgs(["--python", "/opt/py"]).python, "/opt/py");
  assertThrows(() => parseBenchArgs(["--backend", "tpu"]), Error, 'unknown backend "tpu"');
  assertThrows(() => parseBenchArgs(["--sections", "rlhf"]), ConfigError, 'unknown section "rlhf"');
  assertThrows(() => parseBenchArgs(["--model", "huge"]), ConfigError, "got huge");
  assertThrows(
    () => parseBenchArgs(["--peer", "jax"]),
    ConfigError,
    "--peer must be one of torch, got jax",
  );
  assertThrows(
    () => parseBenchArgs(["--rounds", "0"]),
    ConfigError,
    "--rounds must be an integer >= 1, got 0",
  );
  assertThrows(() => parseBenchArgs(["--fast"]), ConfigError, "--fast");
  assertEquals(parseBenchArgs(["--help"]).help, true);
  for (const s of BENCH_SECTIONS) assertStringIncludes(benchUsage(), s.name);
  assertStringIncludes(benchUsage(), "--peer torch");
});

Deno.test({
  name: "deno task bench --quick writes bench.json with a figure set per backend",
  permissions: { read: true, write: ["/tmp"], env: true, run: true, sys: true },
  async fn() {
    const dir = await Deno.makeTempDir();
    const out = `${dir}/bench.json`;
    const args = ["--backend", "tensorflow,wasm", "--quick", "--model", "tiny", "--out", out];
    const { code, stdout: text, stderr } = await runTask("bench", args);
    assertEquals(code, 0, stderr);
    assertStringIncludes(text, "[wasm | ");
    assertStringIncludes(text, "sample/kv-cache: ");
    const report = JSON.parse(await Deno.readTextFile(out)) as BenchReport;
    assertEquals(report.backends.map((b) => b.backend), ["tensorflow", "wasm"]);
    const wasm = report.backends[1]!;
    assertEquals(wasm.status, "ok");
    assertEquals(wasm.figures.map((f) => f.id), [
      "train",
      "train-stock",
      "sample/kv-cache",
      "sample/no-cache",
      "ppo",
      "dpo",
    ]);
    const ppo = wasm.figures[4]!;
    assertEquals(Object.keys(ppo.phases!), [
      "sample",
      "policy/ref/value/RM passes",
      "4 epochs of updates",
    ]);
    assertEquals(report.model.vocabSize, BENCH_MODELS.tiny!.model.vocabSize);
    const { model, workload } = BENCH_MODELS.tiny!;
    assertEquals(wasm.figures[0]!.flopsPerIteration, trainStepFlops(model, workload));
    assertEquals(wasm.threads, backendThreads("wasm")); // RLHF_WASM_THREADS, default 1
    await Deno.remove(dir, { recursive: true });
  },
});

/**
 * Loss and gradient norm of one step of a seeded tiny model on the active backend.
 * Exported so the threaded-backend test can run it in a child process.
 */
export async function stepProbe(): Promise<number[]> {
  const lm = CausalLM.create({ vocabSize: 40, dModel: 16, nLayers: 2, nHeads: 2, context: 12 }, 3);
  const toks = tf.tensor2d([[1, 5, 9, 7, 2, 0], [1, 30, 31, 6, 8, 2]], undefined, "int32");
  const mask = tf.tensor2d([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]);
  const { value, grads } = tf.variableGrads(
    () => lm.tokenLogProbs(toks).mul(mask).sum().neg() as tf.Scalar,
    [...lm.params.values()],
  );
  const norm = tf.addN(Object.values(grads).map((g) => g.square().sum())).sqrt();
  const probe = [(await value.data())[0]!, (await norm.data())[0]!];
  tf.dispose([toks, mask, value, norm, ...Object.values(grads)]);
  lm.dispose();
  return probe;
}

Deno.test({
  name: "RLHF_WASM_THREADS=2 loads the threaded SIMD build and gives the same numbers",
  permissions: { read: true, env: true, run: true, sys: true },
  async fn() {
    const root = new URL("../", import.meta.url);
    // The child imports this file: its top-level initBackend("wasm") sees the variable.
    const code = `
      import { stepProbe } from "${import.meta.url}";
      import { activeBackend } from "${new URL("lib/backend/mod.ts", root).href}";
      console.log(JSON.stringify({ device: activeBackend()?.device, probe: await stepProbe() }));
      Deno.exit(0);
    `;
    const { code: status, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--quiet", code],
      cwd: root.pathname,
      env: { RLHF_WASM_THREADS: "2" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(status, 0, new TextDecoder().decode(stderr));
    const out = JSON.parse(new TextDecoder().decode(stdout)) as { device: string; probe: number[] };
    assertStringIncludes(out.device, "2 XNNPACK threads");
    assertAllClose(out.probe, await stepProbe(), 1e-4); // this process: one thread
  },
});

Deno.test({
  name:
    "webgpu: the matmul rewrite gives the stock step, and AddN sums every input (with an adapter)",
  permissions: { read: true, env: true, run: true, sys: true },
  async fn() {
    const root = new URL("../", import.meta.url);
    const code = `
      import { stepProbe } from "${import.meta.url}";
      import { initBackend } from "${new URL("lib/backend/mod.ts", root).href}";
      import { fastKernels, setFastKernels } from "${new URL("lib/backend/mod.ts", root).href}";
      import * as tf from "@tensorflow/tfjs";
      const adapter = await navigator.gpu?.requestAdapter();
      if (!adapter) {
        console.log(JSON.stringify({ skip: true }));
      } else {
        await initBackend("webgpu");
        // 12 inputs: more than the 7 one shader can bind under WebGPU's default limits.
        const addN = (await tf.addN(Array.from({ length: 12 }, (_, i) => tf.scalar(i + 1))).data())[0];
        const fast = await stepProbe();
        setFastKernels(false);
        const plain = await stepProbe();
        console.log(JSON.stringify({ on: fastKernels("webgpu"), fast, plain, addN }));
      }
      Deno.exit(0);
    `;
    const { code: status, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--quiet", code],
      cwd: root.pathname,
      env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(status, 0, new TextDecoder().decode(stderr));
    const out = JSON.parse(new TextDecoder().decode(stdout));
    if (out.skip) return; // no WebGPU adapter on this machine
    assertEquals(out.addN, 78);
    assertEquals(out.on, false, "switched off for the plain run");
    assertAllClose(out.fast, out.plain, 1e-4);
  },
});
