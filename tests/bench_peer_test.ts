import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { CausalLM } from "../lib/models/causal_lm.ts";
import { modelConfig } from "../lib/models/config.ts";
import { AdamW, optimiserStep } from "../lib/train/adamw.ts";
import { sftLoss } from "../lib/losses/sft.ts";
import {
  comparePeer,
  type PeerReport,
  type RoundResult,
  torchPeerScript,
} from "../tools/bench/peer.ts";
import { formatPeer } from "../tools/bench/report.ts";
import { childPermissions } from "../tools/bench/child_permissions.ts";
import { BENCH_MODELS, TRAIN_STEP } from "../tools/bench/workloads.ts";
import { parameterCount } from "../tools/bench/flops.ts";
import type { BenchReport } from "../tools/bench/main.ts";
import { runTask } from "./_subprocess.ts";
import {
  assert,
  assertAllClose,
  assertEquals,
  assertStringIncludes,
  assertThrows,
} from "./assert.ts";

await initBackend("wasm");

const PYTHON = Deno.env.get("RLHF_PYTHON") || "/usr/bin/python3";
/** Whether `python -c code` runs (false without the interpreter). */
const runs = (code: string) =>
  new Deno.Command(PYTHON, { args: ["-c", code], stdout: "null", stderr: "null" }).output()
    .then((o) => o.success, () => false);
const HAS_PYTHON = await runs("pass");
/** Whether the interpreter the bench uses by default can import torch. */
const HAS_TORCH = await runs("import torch");

function round(side: string, params: number, trainMs: number[], sampleMs: number[]): RoundResult {
  return {
    side,
    version: "x",
    threads: 1,
    params,
    train: { ms: trainMs },
    sample: { ms: sampleMs },
  };
}

Deno.test("comparePeer() gives per-round medians, their range, and the ratio of medians", () => {
  // 1000 tokens per iteration: 100 ms is 10,000 tokens/s.
  const deno = [
    round("deno wasm", 7, [100, 90, 300], [50, 50, 50]), // median 100 ms: 10,000/s
    round("deno wasm", 7, [200, 200, 200], [100, 100, 100]), // 5,000/s
    round("deno wasm", 7, [125, 125, 125], [50, 40, 60]), // 8,000/s
  ];
  const torch = [
    round("torch", 7, [50, 50, 50], [25, 25, 25]), // 20,000/s
    round("torch", 7, [100, 100, 100], [50, 50, 50]), // 10,000/s
    round("torch", 7, [100, 100, 100], [50, 50, 50]),
  ];
  const [train, sample] = comparePeer(deno, torch, { train: 1000, sample: 1000 }, {
    train: 6e9,
    sample: 2e9,
  });
  assertEquals(train!.deno, { median: 8000, min: 5000, max: 10000, perRound: [10000, 5000, 8000] });
  assertEquals([train!.peer.median, train!.peer.min, train!.peer.max], [10000, 10000, 20000]);
  assertEquals(train!.ratio, 0.8);
  assertEquals(train!.ratioRange, [0.5, 0.8]); // 0.5, 0.5, 0.8 round by round
  assertEquals([sample!.workload, sample!.deno.median, sample!.peer.median], [
    "sample",
    20000,
    20000,
  ]);
  assertEquals(train!.flopsPerIteration, 6e9);
});

Deno.test("comparePeer() refuses sides whose parameter counts differ", () => {
  assertThrows(
    () =>
      comparePeer([round("deno wasm", 7, [1], [1])], [round("torch", 8, [1], [1])], {
        train: 1,
        sample: 1,
      }, { train: 1, sample: 1 }),
    Error,
    "parameter counts differ: deno wasm has 7, torch has 8",
  );
});

Deno.test("formatPeer() prints a row per side and a ratio per workload, or the skip line", () => {
  const spread = (m: number) => ({ median: m, min: m - 100, max: m + 100, perRound: [m] });
  const report: PeerReport = {
    peer: "torch",
    backend: "wasm",
    status: "ok",
    version: "1.13.1",
    threads: { deno: 1, peer: 1 },
    params: { deno: 656896, peer: 656896 },
    rounds: 5,
    job: {
      ...BENCH_MODELS.reference!,
      step: TRAIN_STEP,
      threads: 1,
      warmup: 2,
      repeats: 3,
      seed: 0,
    },
    figures: [{
      workload: "train",
      tokensPerIteration: 1000,
      flopsPerIteration: 5e9, // 1,000 tokens/s = one iteration a second = 5 GFLOP/s
      deno: spread(1000),
      peer: spread(2000),
      ratio: 0.5,
      ratioRange: [0.45, 0.55],
    }],
  };
  const lines = formatPeer(report);
  assertStringIncludes(lines[0]!, "peer torch 1.13.1 vs deno wasm: 5 interleaved round(s)");
  assertStringIncludes(lines[0]!, "threads: deno 1, torch 1; 656,896 parameters on both sides");
  assertEquals(lines.length, 5); // head, column names, deno, torch, ratio
  assertStringIncludes(lines[2]!, "deno wasm");
  assertStringIncludes(lines[2]!, "1,000 (900–1,100)");
  assertStringIncludes(lines[2]!, "5.0 GFLOP/s");
  assertStringIncludes(lines[3]!, "10.0 GFLOP/s");
  assertStringIncludes(lines[4]!, "0.50 (per round 0.45–0.55)");
  const reference = formatPeer({ ...report, blas: "reference BLAS (netlib, unoptimised)" });
  assertStringIncludes(reference[0]!, "torch 1.13.1 (BLAS: reference BLAS (netlib, unoptimised))");
  assertStringIncludes(reference[1]!, "note: this torch multiplies matrices with the unoptimised");
  assertEquals(reference.length, 6);
  assertEquals(formatPeer({ ...report, status: "skipped", message: "peer torch: skipped — x" }), [
    "peer torch: skipped — x",
  ]);
});

Deno.test({
  name: "childPermissions() passes on only what this process holds, scope by scope",
  permissions: { read: true, write: ["/tmp"], run: ["lscpu"], env: false, sys: false, ffi: false },
  fn() {
    const { flags, missing } = childPermissions([
      { name: "read" },
      { name: "write", paths: ["/tmp/bench-x"] },
      { name: "write", paths: ["/tmp/a", "/etc/b"] },
      { name: "run", paths: ["lscpu"] },
      { name: "run" },
      { name: "env" },
      { name: "ffi", paths: ["/tmp/node_modules"] },
    ]);
    assertEquals(flags, ["--allow-read", "--allow-write=/tmp/bench-x", "--allow-run=lscpu"]);
    assertEquals(missing, [
      "--allow-write=/tmp/a,/etc/b",
      "--allow-run",
      "--allow-env",
      "--allow-ffi=/tmp/node_modules",
    ]);
  },
});

/** Run peer_torch.py on a job; its JSON answer. */
async function torchPeer(job: unknown, env: Record<string, string> = {}) {
  const out = await new Deno.Command(PYTHON, {
    args: [torchPeerScript(), JSON.stringify(job)],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, json: JSON.parse(new TextDecoder().decode(out.stdout)) };
}

Deno.test({
  name: "peer_torch.py computes deno's loss, gradient norm and AdamW step from deno's weights",
  ignore: !HAS_TORCH,
  async fn() {
    const cfg = modelConfig({ vocabSize: 40, dModel: 16, nLayers: 2, nHeads: 2, context: 12 });
    const lm = CausalLM.create(cfg, 3);
    const weights: Record<string, { shape: number[]; values: number[] }> = {};
    for (const [name, p] of lm.params) {
      weights[name] = { shape: p.shape, values: Array.from(await p.data()) };
    }
    const dir = await Deno.makeTempDir();
    const file = `${dir}/weights.json`;
    await Deno.writeTextFile(file, JSON.stringify(weights));
    const rows = [[1, 5, 9, 7, 2, 30, 31], [1, 30, 31, 6, 8, 2, 11], [1, 4, 4, 4, 39, 38, 5]];
    const lr = 1e-2; // large enough that one step moves the loss visibly
    const tokens = tf.tensor2d(rows, undefined, "int32");
    const mask = tf.ones([rows.length, rows[0]!.length - 1]) as tf.Tensor2D;
    const { lr: _, ...adamw } = TRAIN_STEP;
    const opt = new AdamW(lm.params, adamw);
    const lossFn = () => sftLoss(lm.tokenLogProbs(tokens), mask);
    const { loss, gradNorm } = optimiserStep(opt, lossFn, lr);
    const after = tf.tidy(lossFn);
    const deno = [...await loss.data(), ...await gradNorm.data(), ...await after.data()];
    tf.dispose([tokens, mask, loss, gradNorm, after]);
    opt.dispose();
    lm.dispose();

    const { code, json } = await torchPeer({
      model: cfg,
      step: TRAIN_STEP,
      threads: 1,
      check: { weights: file, tokens: rows, lr },
    });
    await Deno.remove(dir, { recursive: true });
    assertEquals(code, 0);
    assertEquals(json.params, parameterCount(cfg));
    assert(Math.abs(deno[2]! - deno[0]!) > 1e-3, "the step changed the loss");
    assertAllClose([json.loss, json.gradNorm, json.lossAfter], deno, 1e-4);
  },
});

Deno.test({
  name: "peer_torch.py answers torch-missing with exit code 3 when torch cannot be imported",
  ignore: !HAS_PYTHON,
  async fn() {
    const dir = await Deno.makeTempDir();
    await Deno.mkdir(`${dir}/torch`);
    await Deno.writeTextFile(`${dir}/torch/__init__.py`, 'raise ImportError("no torch here")\n');
    const { code, json } = await torchPeer(
      { model: BENCH_MODELS.tiny!.model, step: TRAIN_STEP },
      { PYTHONPATH: dir },
    );
    await Deno.remove(dir, { recursive: true });
    assertEquals([code, json.error, json.message], [3, "torch-missing", "no torch here"]);
  },
});

/** `deno task bench …args` (its command line and permissions from deno.json); stdout and report. */
async function runBench(args: string[], env: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/bench.json`;
    const res = await runTask("bench", [...args, "--out", out], { env });
    const report = JSON.parse(await Deno.readTextFile(out)) as BenchReport;
    return { code: res.code, text: res.stdout, report };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "bench --peer torch prints one install line and carries on when torch is missing",
  async fn() {
    const dir = await Deno.makeTempDir();
    await Deno.mkdir(`${dir}/torch`);
    await Deno.writeTextFile(`${dir}/torch/__init__.py`, 'raise ImportError("no torch here")\n');
    const { code, text, report } = await runBench(
      ["--backend", "wasm", "--sections", "train", "--quick", "--model", "tiny", "--peer", "torch"],
      { PYTHONPATH: dir },
    );
    await Deno.remove(dir, { recursive: true });
    assertEquals(code, 0);
    assertStringIncludes(text, "[wasm | "); // the deno side still ran
    const lines = text.split("\n").filter((l) => l.includes("apt-get install python3-torch"));
    assertEquals(lines.length, 1);
    assertStringIncludes(lines[0]!, "peer torch: skipped");
    assertEquals(report.peer?.status, "skipped");
    assertEquals(report.backends[0]?.status, "ok");
  },
});

Deno.test({
  name: "bench --peer torch interleaves rounds of both sides on the same model",
  ignore: !HAS_TORCH,
  async fn() {
    const { code, text, report } = await runBench([
      ...["--backend", "wasm", "--sections", "none", "--quick", "--model", "tiny"],
      ...["--peer", "torch", "--rounds", "2"],
    ]);
    assertEquals(code, 0);
    assertEquals(report.backends, []);
    const peer = report.peer!;
    assertEquals([peer.status, peer.backend, peer.rounds], ["ok", "wasm", 2]);
    assertEquals(peer.params, {
      deno: parameterCount(BENCH_MODELS.tiny!.model),
      peer: parameterCount(BENCH_MODELS.tiny!.model),
    });
    assertEquals(peer.threads!.deno, peer.threads!.peer);
    assert(peer.blas, "the peer names its BLAS");
    assertEquals([peer.raw!.deno.length, peer.raw!.peer.length], [2, 2]);
    assertEquals(peer.figures.map((f) => f.workload), ["train", "sample"]);
    for (const f of peer.figures) {
      assertEquals([f.deno.perRound.length, f.peer.perRound.length], [2, 2]);
      assert(f.ratio > 0 && f.ratioRange[0] <= f.ratioRange[1], f.workload);
    }
    const order = text.split("\n").filter((l) => l.startsWith("peer round"));
    assertEquals(order, [
      "peer round 1/2: deno wasm, then torch",
      "peer round 2/2: deno wasm, then torch",
    ]);
    assertStringIncludes(text, "ratio deno/torch");
  },
});
