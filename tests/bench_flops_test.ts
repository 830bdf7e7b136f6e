import { initBackend } from "../lib/backend/mod.ts";
import { CausalLM } from "../lib/models/causal_lm.ts";
import { modelConfig, REFERENCE_MODEL } from "../lib/models/config.ts";
import {
  matmulWeights,
  parameterCount,
  samplingFlops,
  trainStepFlops,
} from "../tools/bench/flops.ts";
import { estimatePeak } from "../tools/bench/peak.ts";
import { formatThroughput, gflops, shareOfPeak } from "../tools/bench/report.ts";
import { REFERENCE_WORKLOAD } from "../tools/bench/workloads.ts";
import { assert, assertAlmostEquals, assertEquals, assertStringIncludes } from "./assert.ts";

await initBackend("wasm");

Deno.test("trainStepFlops() of the reference model is B·T·(6·N + 12·L·T·D) by hand", () => {
  // N = L·12·D² + D·V = 2·12·128² + 128·2000 = 393,216 + 256,000.
  assertEquals(matmulWeights(REFERENCE_MODEL), 649_216);
  // Per token: 6·649,216 + 12·2·32·128 = 3,895,296 + 98,304 = 3,993,600; × 32·32 tokens.
  assertEquals(trainStepFlops(REFERENCE_MODEL, REFERENCE_WORKLOAD), 4_089_446_400);
});

Deno.test("samplingFlops() counts the prefill, n−1 cached steps and the last-position head", () => {
  const m = modelConfig({ vocabSize: 10, dModel: 4, nLayers: 1, nHeads: 2, context: 8 });
  // N_blocks = 12·16 = 192, N = 192 + 4·10 = 232; B = 2, P = 3, n = 3.
  // prefill: 2·3·2·192 + 2·1·4·3²·4 + 2·2·4·10 = 2304 + 288 + 160 = 2752
  // step 1 (S = 4): 2·(2·232 + 4·4·4) = 1056; step 2 (S = 5): 2·(464 + 80) = 1088
  assertEquals(samplingFlops(m, { sampleBatch: 2, promptLength: 3, newTokens: 3 }), 4896);
  assertEquals(samplingFlops(m, { sampleBatch: 2, promptLength: 3, newTokens: 1 }), 2752);
});

Deno.test("parameterCount() equals the parameters of the model CausalLM builds", () => {
  for (const cfg of [REFERENCE_MODEL, modelConfig({ vocabSize: 40, dModel: 16, nLayers: 3 })]) {
    const lm = CausalLM.create(cfg, 0);
    let n = 0;
    for (const p of lm.params.values()) n += p.size;
    lm.dispose();
    assertEquals(parameterCount(cfg), n);
  }
  // V·D + T·D + L·(12D² + 13D) + 2D for the reference shape.
  assertEquals(parameterCount(REFERENCE_MODEL), 656_896);
});

const LSCPU_AVX2 = `Architecture:            x86_64
CPU(s):                  16
Thread(s) per core:      2
Core(s) per socket:      4
Socket(s):               2
CPU max MHz:             3000.0000
CPU MHz:                 1200.000
BogoMIPS:                5000.00
Flags:                   fpu sse sse2 avx fma avx2
`;

Deno.test("estimatePeak() is cores × lanes × 2 × FMA units × clock from lscpu", () => {
  const p = estimatePeak(LSCPU_AVX2)!;
  // 8 physical cores (hyperthreads add no FMA units) × 8 lanes × 2 × 2 units × 3.0 GHz.
  assertEquals([p.cores, p.simd, p.lanes, p.flopsPerLane, p.fmaUnits], [8, "AVX2", 8, 2, 2]);
  assertEquals([p.mhz, p.clockSource], [3000, "CPU max MHz"]);
  assertAlmostEquals(p.gflops, 768, 1e-9);
  assertStringIncludes(p.formula, "8 cores × 8 fp32 lanes (AVX2) × 2 (FMA) × 2 FMA units");
  assertAlmostEquals(estimatePeak(LSCPU_AVX2, 1)!.gflops, 384, 1e-9);
});

Deno.test("estimatePeak() falls back to CPU MHz, then BogoMIPS / 2, and reads AVX-512", () => {
  const noMax = LSCPU_AVX2.replace(/CPU max MHz.*\n/, "");
  assertEquals(estimatePeak(noMax)!.mhz, 1200);
  const vm = noMax.replace(/CPU MHz.*\n/, "").replace("avx2", "avx2 avx512f");
  const p = estimatePeak(vm)!;
  assertEquals([p.mhz, p.clockSource, p.lanes, p.simd], [2500, "BogoMIPS / 2", 16, "AVX-512"]);
  const noFma = LSCPU_AVX2.replace(" fma ", " ");
  assertEquals(estimatePeak(noFma)!.flopsPerLane, 1);
  assertEquals(estimatePeak(LSCPU_AVX2.replace(/BogoMIPS.*\n|CPU.*MHz.*\n/g, "")), undefined);
  assertEquals(estimatePeak(""), undefined);
});

Deno.test("shareOfPeak() divides by the peak of the cores a side computes with", () => {
  const peak = estimatePeak(LSCPU_AVX2)!; // 768 GFLOP/s over 8 cores: 96 per core
  assertAlmostEquals(shareOfPeak(9.6, { peak, threads: 1 })!, 0.1, 1e-12);
  assertAlmostEquals(shareOfPeak(76.8, { peak, threads: 8 })!, 0.1, 1e-12);
  assertAlmostEquals(shareOfPeak(76.8, { peak, threads: 64 })!, 0.1, 1e-12); // capped at cores
  assertEquals(shareOfPeak(1, { threads: 1 }), undefined);
  assertEquals(
    formatThroughput(9.6, { peak, threads: 1 }),
    "9.6 GFLOP/s, 10.0% of the 1-core peak",
  );
  assertEquals(formatThroughput(9.6, { threads: 1 }), "9.6 GFLOP/s");
  // 4.0894464e9 FLOPs in 818.9 ms ≈ 4.99 GFLOP/s.
  assert(Math.abs(gflops(4_089_446_400, 818.9) - 4.994) < 1e-3);
});
