import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { CausalLM } from "../lib/models/causal_lm.ts";
import { ScalarModel } from "../lib/models/scalar_head.ts";
import { loadCheckpoint, saveCheckpoint } from "../lib/models/checkpoint.ts";
import { FileFormatError } from "../lib/util/errors.ts";
import { assertAllClose, assertEquals, assertRejects } from "./assert.ts";

await initBackend("wasm");

const small = { vocabSize: 30, dModel: 16, nLayers: 1, nHeads: 2, context: 8, dropout: 0 };
const ids = () => tf.tensor2d([[1, 4, 5, 6], [1, 7, 2, 0]], undefined, "int32");

Deno.test("checkpoint round trip gives identical outputs and keeps the tokenizer and meta", async () => {
  const dir = await Deno.makeTempDir();
  const lm = CausalLM.create(small, 1);
  await saveCheckpoint(`${dir}/lm.ckpt`, lm, { tokenizer: { words: ["a"] }, meta: { step: 3 } });
  const { model, header } = await loadCheckpoint(`${dir}/lm.ckpt`, { kind: "lm" });
  assertEquals(await model.logits(ids()).data(), await lm.logits(ids()).data());
  assertEquals(header.tokenizer, { words: ["a"] });
  assertEquals(header.meta, { step: 3 });
  const rm = ScalarModel.fromLM(lm, 2);
  await saveCheckpoint(`${dir}/rm.ckpt`, rm);
  const loaded = await loadCheckpoint(`${dir}/rm.ckpt`, { kind: "scalar" });
  assertAllClose(await loaded.model.scores(ids()).data(), await rm.scores(ids()).data(), 0);
  for (const m of [lm, model, rm, loaded.model]) m.dispose();
});

async function corrupt(edit: (b: Uint8Array) => Uint8Array, message: string) {
  const dir = await Deno.makeTempDir();
  const lm = CausalLM.create(small, 1);
  const path = `${dir}/m.ckpt`;
  await saveCheckpoint(path, lm);
  lm.dispose();
  await Deno.writeFile(path, edit(await Deno.readFile(path)));
  await assertRejects(() => loadCheckpoint(path, { kind: "lm" }), FileFormatError, message);
}

Deno.test("a truncated checkpoint gives a clear error", () =>
  corrupt((b) => b.slice(0, b.length - 100), "is truncated: "));

Deno.test("a checkpoint with flipped weight bytes fails its checksum", () =>
  corrupt((b) => {
    b[b.length - 10] = b[b.length - 10]! ^ 0xff;
    return b;
  }, "is corrupt: its weights do not match the checksum"));

Deno.test("a file that is not a checkpoint says so", () =>
  corrupt(() => new TextEncoder().encode("hello world, not weights"), "is not a kit checkpoint"));

Deno.test("a checkpoint with a broken header says so", () =>
  corrupt((b) => {
    b[12] = 0x5b; // "[" where the JSON header opens with "{"
    return b;
  }, "has a corrupt header"));

Deno.test("a missing checkpoint names the path", async () => {
  await assertRejects(
    () => loadCheckpoint("/nonexistent/x.ckpt", { kind: "lm" }),
    FileFormatError,
    "checkpoint /nonexistent/x.ckpt does not exist",
  );
});

Deno.test("loading the wrong kind or config is refused", async () => {
  const dir = await Deno.makeTempDir();
  const lm = CausalLM.create(small, 1);
  await saveCheckpoint(`${dir}/lm.ckpt`, lm);
  await assertRejects(
    () => loadCheckpoint(`${dir}/lm.ckpt`, { kind: "scalar" }),
    FileFormatError,
    "holds a language model, expected a scalar-head model",
  );
  await assertRejects(
    () => loadCheckpoint(`${dir}/lm.ckpt`, { kind: "lm", config: { vocabSize: 31 } }),
    FileFormatError,
    "has vocabSize 30 but 31 was expected",
  );
  lm.dispose();
});

Deno.test("a header whose shapes do not match its config names the parameter", async () => {
  const dir = await Deno.makeTempDir();
  const lm = CausalLM.create(small, 1);
  const path = `${dir}/m.ckpt`;
  await saveCheckpoint(path, lm);
  lm.dispose();
  const bytes = await Deno.readFile(path);
  const len = new DataView(bytes.buffer).getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len)));
  header.params[0].shape = [31, 16];
  const json = new TextEncoder().encode(JSON.stringify(header).padEnd(len, " "));
  bytes.set(json.subarray(0, len), 12);
  await Deno.writeFile(path, bytes);
  await assertRejects(
    () => loadCheckpoint(path, { kind: "lm" }),
    FileFormatError,
    "has wte of shape [31,16] but its config needs [30,16]",
  );
});
