import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { CausalLM } from "../lib/models/causal_lm.ts";
import { ScalarModel } from "../lib/models/scalar_head.ts";
import { loadCheckpoint, saveCheckpoint } from "../lib/models/checkpoint.ts";
import { FileFormatError } from "../lib/util/errors.ts";
import { assertAllClose, assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";
import { checkRejections, withTempDir, writeFileIn } from "./_bad_input.ts";

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

Deno.test("bad checkpoint files are refused before any weight is used, naming the file", async (t) => {
  await withTempDir(async (dir) => {
    const lm = CausalLM.create(small, 1);
    const good = `${dir}/m.ckpt`;
    await saveCheckpoint(good, lm);
    lm.dispose();
    const bytes = await Deno.readFile(good);
    /** A copy of the good checkpoint, edited, in a file of its own. */
    const edited = (edit: (b: Uint8Array) => Uint8Array) =>
      writeFileIn(dir, "m.ckpt", edit(bytes.slice()));
    const cases: [string, () => Promise<string>, string][] = [
      [
        "a missing file",
        () => Promise.resolve(`${dir}/absent.ckpt`),
        `checkpoint ${dir}/absent.ckpt does not exist`,
      ],
      ["an empty file", () => edited(() => new Uint8Array()), "is truncated (0 bytes)"],
      ["a truncated file", () => edited((b) => b.slice(0, b.length - 100)), "is truncated: "],
      ["a file cut by 7 bytes", () => edited((b) => b.slice(0, b.length - 7)), "is truncated: "],
      [
        "trailing bytes",
        () => edited((b) => new Uint8Array([...b, 0, 0, 0, 0])),
        "has trailing bytes",
      ],
      [
        "a zip file",
        () => edited((b) => (b.set(new TextEncoder().encode("PK\x03\x04")), b)),
        "is not a kit checkpoint (its first bytes are not RLHFCKPT)",
      ],
      [
        "a text file",
        () => edited(() => new TextEncoder().encode("hello world, not weights")),
        "is not a kit checkpoint",
      ],
      [
        "flipped weight bytes",
        () => edited((b) => (b[b.length - 10] = b[b.length - 10]! ^ 0xff, b)),
        "is corrupt: its weights do not match the checksum in its header",
      ],
      [
        "a header that is not an object",
        () => edited((b) => (b[12] = 0x5b, b)), // "[" where the JSON header opens with "{"
        "has a corrupt header",
      ],
      [
        "a header length past the end",
        () => edited((b) => (new DataView(b.buffer).setUint32(8, 1e6, true), b)),
        "is truncated inside its header",
      ],
    ];
    for (const [name, make, message] of cases) {
      await t.step(name, async () => {
        const path = await make();
        const e = await assertRejects(
          () => loadCheckpoint(path, { kind: "lm" }),
          FileFormatError,
          message,
        );
        assertStringIncludes(e.message, path);
      });
    }
  }, "checkpoint-test-");
});

Deno.test("loading the wrong kind or config is refused", async (t) => {
  await withTempDir(async (dir) => {
    const lm = CausalLM.create(small, 1);
    const path = `${dir}/lm.ckpt`;
    await saveCheckpoint(path, lm);
    lm.dispose();
    await checkRejections(t, [
      {
        name: "a scalar-head model expected",
        call: () => loadCheckpoint(path, { kind: "scalar" }),
        cls: FileFormatError,
        message: `checkpoint ${path} holds a language model, expected a scalar-head model`,
      },
      {
        name: "another vocabulary",
        call: () => loadCheckpoint(path, { kind: "lm", config: { vocabSize: 31 } }),
        cls: FileFormatError,
        message: `checkpoint ${path} has vocabSize 30 but 31 was expected`,
      },
      {
        name: "another context",
        call: () => loadCheckpoint(path, { kind: "lm", config: { context: 16 } }),
        cls: FileFormatError,
        message: `checkpoint ${path} has context 8 but 16 was expected`,
      },
    ]);
  }, "checkpoint-test-");
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
