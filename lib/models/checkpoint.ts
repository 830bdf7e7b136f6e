/**
 * Checkpoints: weights, config and tokenizer in one file, written atomically and checked
 * on load. A load parses data only (JSON and float32s); nothing read is executed.
 *
 * Layout: the 8 bytes `RLHFCKPT`, a little-endian uint32 header length, the UTF-8 JSON
 * header, zero padding to a multiple of 4, then every parameter's float32 values
 * (little-endian) in header order. The header carries a SHA-256 of the weight bytes so a
 * corrupt or truncated file is caught before any weight is used.
 *
 * @module
 */
import { type ModelConfig, modelConfig } from "./config.ts";
import { CausalLM } from "./causal_lm.ts";
import { headParamSpecs, ScalarModel } from "./scalar_head.ts";
import { type ParamSpec, trunkParamSpecs } from "./transformer.ts";
import type { Params } from "./params.ts";
import { variable } from "./params.ts";
import { writeBytesAtomic } from "../util/atomic_write.ts";
import { FileFormatError, KitError } from "../util/errors.ts";

const MAGIC = "RLHFCKPT";
/** Version of the file layout; bumped on incompatible changes. */
export const CHECKPOINT_FORMAT = 1;

/** Which model a checkpoint holds. */
export type CheckpointKind = "lm" | "scalar";

/** The JSON header of a checkpoint. */
export interface CheckpointHeader {
  /** File layout version, {@link CHECKPOINT_FORMAT}. */
  format: number;
  /** Which model the weights belong to. */
  kind: CheckpointKind;
  /** The model's shape. */
  config: ModelConfig;
  /** Every parameter's name and shape, in the order its weights are stored. */
  params: { name: string; shape: number[] }[];
  /** SHA-256 (hex) of the weight bytes. */
  sha256: string;
  /** Serialised tokenizer (its `toJSON()`), if saved with one. */
  tokenizer?: unknown;
  /** Free-form metadata: step, stage, metrics. */
  meta?: Record<string, unknown>;
}

/** What {@link loadCheckpoint} returns: a model and what was saved with it. */
export interface LoadedCheckpoint<M> {
  /** The loaded model; the caller disposes it. */
  model: M;
  /** The checkpoint's header (config, tokenizer, metadata). */
  header: CheckpointHeader;
}

/** The parameter specs a model of `kind` and `config` must have, in order. */
export function expectedSpecs(kind: CheckpointKind, config: ModelConfig): ParamSpec[] {
  const specs = trunkParamSpecs(config);
  return kind === "scalar" ? [...specs, ...headParamSpecs(config)] : specs;
}

/**
 * Save a model (atomically: temp file + rename, so a crash never leaves half a file under
 * `path`).
 */
export async function saveCheckpoint(
  path: string,
  model: CausalLM | ScalarModel,
  extra: { tokenizer?: unknown; meta?: Record<string, unknown> } = {},
): Promise<void> {
  const kind: CheckpointKind = model instanceof ScalarModel ? "scalar" : "lm";
  const specs = expectedSpecs(kind, model.config);
  const total = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  const weights = new Float32Array(total);
  let off = 0;
  for (const spec of specs) {
    const v = model.params.get(spec.name);
    if (!v) throw new KitError(`model has no parameter ${spec.name}`);
    const data = (await v.data()) as Float32Array;
    weights.set(data, off);
    off += data.length;
  }
  const weightBytes = new Uint8Array(weights.buffer);
  const header: CheckpointHeader = {
    format: CHECKPOINT_FORMAT,
    kind,
    config: model.config,
    params: specs.map((s) => ({ name: s.name, shape: s.shape })),
    sha256: await sha256Hex(weightBytes),
    ...(extra.tokenizer !== undefined ? { tokenizer: extra.tokenizer } : {}),
    ...(extra.meta ? { meta: extra.meta } : {}),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headStart = 12;
  const dataStart = Math.ceil((headStart + json.length) / 4) * 4;
  const out = new Uint8Array(dataStart + weightBytes.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, headStart);
  out.set(weightBytes, dataStart);
  await writeBytesAtomic(path, out);
}

/** Read and check a checkpoint's header and weights without building a model. */
export async function readCheckpoint(
  path: string,
): Promise<{ header: CheckpointHeader; weights: Float32Array }> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new FileFormatError(`checkpoint ${path} does not exist`);
    }
    throw new FileFormatError(`checkpoint ${path} cannot be read: ${(e as Error).message}`);
  }
  const bad = (why: string): never => {
    throw new FileFormatError(`checkpoint ${path} ${why}`);
  };
  if (bytes.length < 12) bad(`is truncated (${bytes.length} bytes)`);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    bad("is not a kit checkpoint (its first bytes are not RLHFCKPT)");
  }
  const headLen = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  if (12 + headLen > bytes.length) bad("is truncated inside its header");
  let header: CheckpointHeader;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(12, 12 + headLen)),
    );
  } catch (e) {
    return bad(`has a corrupt header: ${(e as Error).message}`);
  }
  if (typeof header !== "object" || header === null) bad("has a corrupt header: not an object");
  if (header.format !== CHECKPOINT_FORMAT) {
    bad(`has format ${JSON.stringify(header.format)}; this kit reads format ${CHECKPOINT_FORMAT}`);
  }
  if (header.kind !== "lm" && header.kind !== "scalar") {
    bad(`has kind ${JSON.stringify(header.kind)}; expected "lm" or "scalar"`);
  }
  let config: ModelConfig;
  try {
    config = modelConfig(header.config, "config");
  } catch (e) {
    return bad(`has an invalid model config: ${(e as Error).message}`);
  }
  if (!Array.isArray(header.params)) bad("has no parameter list");
  const want = expectedSpecs(header.kind, config);
  const got = new Map(header.params.map((p) => [p.name, p.shape]));
  for (const spec of want) {
    const shape = got.get(spec.name);
    if (!shape) bad(`is missing parameter ${spec.name}`);
    if (JSON.stringify(shape) !== JSON.stringify(spec.shape)) {
      bad(
        `has ${spec.name} of shape [${shape}] but its config needs [${spec.shape}]`,
      );
    }
  }
  if (header.params.length !== want.length) {
    const extra = header.params.map((p) => p.name).filter((n) => !want.some((s) => s.name === n));
    bad(`has unexpected parameters: ${extra.join(", ")}`);
  }
  if (header.params.some((p, i) => p.name !== want[i]!.name)) {
    bad("lists its parameters out of order");
  }
  const dataStart = Math.ceil((12 + headLen) / 4) * 4;
  const total = want.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  const dataBytes = bytes.length - dataStart;
  if (dataBytes !== total * 4) {
    bad(
      `${
        dataBytes < total * 4 ? "is truncated" : "has trailing bytes"
      }: ${dataBytes} weight bytes, expected ${total * 4}`,
    );
  }
  const weightBytes = bytes.slice(dataStart);
  if ((await sha256Hex(weightBytes)) !== header.sha256) {
    bad("is corrupt: its weights do not match the checksum in its header");
  }
  const weights = new Float32Array(weightBytes.buffer);
  for (let i = 0; i < weights.length; i++) {
    if (!Number.isFinite(weights[i]!)) bad(`has a non-finite weight (${weights[i]}) at index ${i}`);
  }
  return { header: { ...header, config }, weights };
}

/** What a loaded model must match, when the caller knows. */
export interface ExpectedModel {
  /** The model kind the file must hold. */
  kind?: CheckpointKind;
  /** Config fields the file's config must equal. */
  config?: Partial<ModelConfig>;
}

/**
 * Load a language-model checkpoint into a new {@link CausalLM}, checking its config
 * against `expect`.
 * @throws FileFormatError when the file is missing, corrupt, or not what `expect` says.
 */
export async function loadCheckpoint(
  path: string,
  expect: ExpectedModel & { kind: "lm" },
): Promise<LoadedCheckpoint<CausalLM>>;
/** Load a scalar-head checkpoint into a new {@link ScalarModel}, checking it against `expect`. */
export async function loadCheckpoint(
  path: string,
  expect: ExpectedModel & { kind: "scalar" },
): Promise<LoadedCheckpoint<ScalarModel>>;
export async function loadCheckpoint(
  path: string,
  expect: ExpectedModel,
): Promise<LoadedCheckpoint<CausalLM | ScalarModel>> {
  const { header, weights } = await readCheckpoint(path);
  if (expect.kind && header.kind !== expect.kind) {
    throw new FileFormatError(
      `checkpoint ${path} holds a ${
        header.kind === "lm" ? "language model" : "scalar-head model"
      }, expected a ${expect.kind === "lm" ? "language model" : "scalar-head model"}`,
    );
  }
  for (const [key, value] of Object.entries(expect.config ?? {})) {
    const have = header.config[key as keyof ModelConfig];
    if (have !== value) {
      throw new FileFormatError(
        `checkpoint ${path} has ${key} ${have} but ${value} was expected`,
      );
    }
  }
  const params: Params = new Map();
  let off = 0;
  for (const spec of expectedSpecs(header.kind, header.config)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    params.set(spec.name, variable(spec.name, weights.slice(off, off + n), spec.shape));
    off += n;
  }
  const model = header.kind === "lm"
    ? new CausalLM(header.config, params)
    : new ScalarModel(header.config, params);
  return { model, header };
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as BufferSource);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
