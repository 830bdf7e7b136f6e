import * as tf from "@tensorflow/tfjs";
import {
  activeBackend,
  initBackend,
  parseBackendName,
  TENSORFLOW_INSTALL_HINT,
  tensorflowInstalled,
} from "../lib/backend/mod.ts";
import { CausalLM } from "../lib/models/causal_lm.ts";
import { BackendError } from "../lib/util/errors.ts";
import {
  assert,
  assertAllClose,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "./assert.ts";

const hasAdapter = await (async () => {
  try {
    if (!Deno.env.get("XDG_RUNTIME_DIR")) Deno.env.set("XDG_RUNTIME_DIR", Deno.makeTempDirSync());
    return !!(await navigator.gpu?.requestAdapter());
  } catch {
    return false;
  }
})();

Deno.test({
  name: "initBackend('tensorflow') without tfjs-node says how to install it, not a stack trace",
  ignore: tensorflowInstalled() !== undefined,
  fn: async () => {
    const e = await assertRejects(() => initBackend("tensorflow"), BackendError);
    assertEquals(e.message, TENSORFLOW_INSTALL_HINT);
    assertStringIncludes(e.message, "@tensorflow/tfjs-node-gpu@4.22.0");
    assertStringIncludes(e.message, "CUDA 11.2");
    assert(!e.message.includes("    at "), "no stack trace in the message");
  },
});

Deno.test("parseBackendName() rejects unknown names with the allowed list", () => {
  assertEquals(parseBackendName(" WASM "), "wasm");
  assertThrows(
    () => parseBackendName("gpu"),
    BackendError,
    'unknown backend "gpu"; allowed: auto, tensorflow, webgpu, wasm, cpu',
  );
});

Deno.test("initBackend() reports the backend and the device it chose", async () => {
  const info = await initBackend("wasm");
  assertEquals(info.backend, "wasm");
  assertEquals(tf.getBackend(), "wasm");
  assertStringIncludes(info.device, "wasm: ");
  assertEquals(activeBackend(), info);
});

const cfg = { vocabSize: 64, dModel: 32, nLayers: 2, nHeads: 4, context: 16, dropout: 0 };
const ids = [[1, 5, 9, 13, 2, 0, 0, 0], [1, 60, 61, 62, 63, 4, 5, 6]];

async function forwardOn(backend: "wasm" | "cpu" | "webgpu") {
  await initBackend(backend);
  const lm = CausalLM.create(cfg, 11);
  const x = tf.tensor2d(ids, undefined, "int32");
  const logits = lm.logits(x);
  const lp = lm.tokenLogProbs(x);
  const out = { logits: await logits.data(), logProbs: await lp.data() };
  tf.dispose([x, logits, lp]);
  lm.dispose();
  return out;
}

Deno.test("the same forward pass matches on wasm and cpu", async () => {
  const a = await forwardOn("wasm");
  const b = await forwardOn("cpu");
  assertAllClose(a.logits, b.logits, 1e-4);
  assertAllClose(a.logProbs, b.logProbs, 1e-4);
});

Deno.test({
  name: "the same forward pass matches on wasm and webgpu (llvmpipe on CI)",
  ignore: !hasAdapter,
  fn: async () => {
    const a = await forwardOn("wasm");
    const b = await forwardOn("webgpu");
    assertAllClose(a.logits, b.logits, 1e-5);
    assertAllClose(a.logProbs, b.logProbs, 1e-5);
    await initBackend("wasm");
  },
});
