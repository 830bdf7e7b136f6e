/**
 * Backend selection: one model, four tfjs backends (see docs/architecture.md, "Backends").
 *
 * | name       | package                                     |
 * |------------|---------------------------------------------|
 * | tensorflow | @tensorflow/tfjs-node-gpu, then tfjs-node   |
 * | webgpu     | @tensorflow/tfjs-backend-webgpu             |
 * | wasm       | @tensorflow/tfjs-backend-wasm               |
 * | cpu        | @tensorflow/tfjs-backend-cpu                |
 *
 * `auto` tries tensorflow, then a non-fallback WebGPU adapter, then wasm. The choice comes
 * from an argument or `RLHF_BACKEND`. Every run records the {@link BackendInfo} it used.
 *
 * Selecting wasm or webgpu installs the kernel overrides of `kernels.ts` (same
 * results, 5–6× faster training on wasm). `RLHF_WASM_THREADS=n` (n ≥ 2) runs wasm on its
 * threaded SIMD build (`wasm_threads.ts`); it pays only when cores are idle.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { BackendError } from "../util/errors.ts";
import { onStop } from "../util/children.ts";
import { nodeModulesDir } from "../util/node_modules.ts";
import { installFastKernels } from "./kernels.ts";
import { installThreadedWasm, wasmThreadsFromEnv } from "./wasm_threads.ts";

/** Names a user can ask for. */
export const BACKEND_NAMES = ["auto", "tensorflow", "webgpu", "wasm", "cpu"] as const;
/** A backend name, or `auto`. */
export type BackendName = (typeof BACKEND_NAMES)[number];

/** What a run used: recorded in every manifest. */
export interface BackendInfo {
  /** The tfjs backend actually active (`tensorflow`, `webgpu`, `wasm`, `cpu`). */
  backend: Exclude<BackendName, "auto">;
  /** What was asked for (`auto` or a name). */
  requested: BackendName;
  /** Human-readable device: GPU adapter description or CPU model and thread count. */
  device: string;
  /** tfjs version. */
  tfjs: string;
}

/** Pinned version of the optional native packages (must match tfjs-core). */
export const TFJS_NODE_VERSION = "4.22.0";

/** The one message shown when the tensorflow backend is asked for but not installed. */
export const TENSORFLOW_INSTALL_HINT: string =
  `the "tensorflow" backend needs @tensorflow/tfjs-node-gpu@${TFJS_NODE_VERSION} ` +
  `(NVIDIA GPU: CUDA 11.2 and cuDNN 8.1, as libtensorflow 2.9.1 requires) or ` +
  `@tensorflow/tfjs-node@${TFJS_NODE_VERSION} (CPU), and neither is installed. ` +
  `Their install script downloads libtensorflow from Google Cloud Storage, so on a ` +
  `machine that can reach it run: deno add npm:@tensorflow/tfjs-node-gpu@${TFJS_NODE_VERSION} ` +
  `&& deno install --allow-scripts=npm:@tensorflow/tfjs-node-gpu@${TFJS_NODE_VERSION}. ` +
  `Otherwise choose another backend: RLHF_BACKEND=webgpu, wasm or cpu (or auto).`;

/** Parse a backend name, e.g. from `RLHF_BACKEND`; unknown names are a clear error. */
export function parseBackendName(name: string): BackendName {
  const n = name.trim().toLowerCase();
  if ((BACKEND_NAMES as readonly string[]).includes(n)) return n as BackendName;
  throw new BackendError(
    `unknown backend ${JSON.stringify(name)}; allowed: ${BACKEND_NAMES.join(", ")}`,
  );
}

/** The backend asked for by `RLHF_BACKEND`, or `fallback` when unset. */
export function backendFromEnv(fallback: BackendName = "auto"): BackendName {
  let v: string | undefined;
  try {
    v = Deno.env.get("RLHF_BACKEND");
  } catch {
    v = undefined; // no env permission: use the fallback
  }
  return v ? parseBackendName(v) : fallback;
}

let active: BackendInfo | undefined;

/** The backend chosen by the last {@link initBackend}, if any. */
export function activeBackend(): BackendInfo | undefined {
  return active;
}

/**
 * Select and initialise a backend. Idempotent for the same name.
 * @param requested a backend name or `auto`; defaults to `RLHF_BACKEND`, else `auto`.
 * @returns what is now active.
 * @throws BackendError when the named backend cannot be used here (with how to fix it).
 */
export async function initBackend(requested: BackendName = backendFromEnv()): Promise<BackendInfo> {
  if (active && active.requested === requested) return active;
  let backend: BackendInfo["backend"];
  let device: string;
  switch (requested) {
    case "tensorflow":
      device = await initTensorflow();
      backend = "tensorflow";
      break;
    case "webgpu": {
      const adapter = await webgpuAdapter();
      if (!adapter) {
        throw new BackendError(
          `the "webgpu" backend found no WebGPU adapter (navigator.gpu ${
            "gpu" in navigator ? "has no adapter" : "is missing"
          }); on Debian install mesa-vulkan-drivers for a CPU (llvmpipe) adapter, or a GPU driver with Vulkan`,
        );
      }
      device = await initWebgpu(adapter);
      backend = "webgpu";
      break;
    }
    case "wasm":
      device = await initWasm();
      backend = "wasm";
      break;
    case "cpu":
      await setBackend("cpu");
      quietCpuBanner();
      device = `cpu: ${cpuModel()} (JavaScript, 1 thread)`;
      backend = "cpu";
      break;
    case "auto": {
      if (tensorflowInstalled()) {
        device = await initTensorflow();
        backend = "tensorflow";
        break;
      }
      const adapter = await webgpuAdapter();
      if (adapter && !adapter.info.isFallbackAdapter) {
        device = await initWebgpu(adapter);
        backend = "webgpu";
        break;
      }
      device = await initWasm();
      backend = "wasm";
      break;
    }
  }
  active = { backend, requested, device, tfjs: tf.version.tfjs };
  return active;
}

async function setBackend(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new BackendError(`tfjs could not initialise the ${JSON.stringify(name)} backend`);
  await tf.ready();
}

/**
 * The cpu backend prints a banner on first use under Node (and so under Deno) that
 * recommends tfjs-node; the kit's own hint (TENSORFLOW_INSTALL_HINT) says how and when.
 */
function quietCpuBanner(): void {
  const b = tf.backend() as { firstUse?: boolean };
  if (b.firstUse) b.firstUse = false;
}

async function initWasm(): Promise<string> {
  // Opt-in threaded SIMD build (see wasm_threads.ts); the default is one thread.
  const threads = wasmThreadsFromEnv();
  if (threads > 1) await installThreadedWasm(threads);
  await setBackend("wasm");
  installFastKernels("wasm"); // XNNPACK for every matmul of training, and more (kernels.ts)
  return threads > 1
    ? `wasm: ${cpuModel()}, ${getThreadsCount()} XNNPACK threads`
    : `wasm: ${cpuModel()}`;
}

async function webgpuAdapter(): Promise<GPUAdapter | null> {
  if (!("gpu" in navigator) || !navigator.gpu) return null;
  try {
    // Mesa's Vulkan loader complains on stderr without it; any writable dir will do. It is
    // named for this process and removed when it exits or is stopped; one left by a killed
    // process is swept at the next start (lib/sweep/temp_files.ts).
    if (!Deno.env.get("XDG_RUNTIME_DIR")) {
      const dir = Deno.makeTempDirSync({ prefix: `rlhf-xdg-${Deno.pid}-` });
      onStop(() => Deno.removeSync(dir, { recursive: true }));
      Deno.env.set("XDG_RUNTIME_DIR", dir);
    }
  } catch {
    // no env/write permission: the warning is harmless
  }
  try {
    return await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch {
    return null;
  }
}

async function initWebgpu(adapter: GPUAdapter): Promise<string> {
  await import("@tensorflow/tfjs-backend-webgpu");
  await setBackend("webgpu");
  installFastKernels("webgpu"); // untransposed matmuls; an AddN that sums every input
  const info = adapter.info;
  const what = info.description || `${info.vendor} ${info.device}`.trim() || "unknown adapter";
  return `webgpu: ${what}${info.isFallbackAdapter ? " (software fallback)" : ""}`;
}

/** Which tfjs-node package has its native binding installed, if any. */
export function tensorflowInstalled(): string | undefined {
  for (const pkg of ["tfjs-node-gpu", "tfjs-node"]) {
    const dir = new URL(`@tensorflow/${pkg}/lib/`, nodeModulesDir());
    try {
      for (const entry of Deno.readDirSync(dir)) {
        if (!entry.isDirectory || !entry.name.startsWith("napi-v")) continue;
        Deno.statSync(new URL(`${entry.name}/tfjs_binding.node`, dir));
        return pkg;
      }
    } catch {
      // not installed, or installed without its libtensorflow download
    }
  }
  return undefined;
}

async function initTensorflow(): Promise<string> {
  const pkg = tensorflowInstalled();
  if (!pkg) throw new BackendError(TENSORFLOW_INSTALL_HINT);
  // A computed specifier keeps the type checker and the module graph off the optional
  // package, which is absent on most machines.
  const spec = `npm:@tensorflow/${pkg}@${TFJS_NODE_VERSION}`;
  try {
    await import(spec);
  } catch (e) {
    throw new BackendError(
      `${TENSORFLOW_INSTALL_HINT} (found @tensorflow/${pkg} but loading it failed: ${
        (e as Error).message.split("\n")[0]
      })`,
    );
  }
  await setBackend("tensorflow");
  return `tensorflow: ${pkg === "tfjs-node-gpu" ? "CUDA via libtensorflow" : cpuModel()}`;
}

/** CPU model name and logical core count, best effort. */
export function cpuModel(): string {
  let model = "unknown CPU";
  try {
    const m = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.+)/);
    if (m?.[1]) model = m[1].trim();
  } catch {
    // Deno reads /proc only with --allow-all; ask lscpu instead where running it is allowed
    try {
      const out = new Deno.Command("lscpu", { stdout: "piped", stderr: "null" }).outputSync();
      const m = new TextDecoder().decode(out.stdout).match(/Model name:\s*(.+)/);
      if (m?.[1]) model = m[1].trim();
    } catch {
      // no lscpu, or no --allow-run
    }
  }
  return `${model}, ${navigator.hardwareConcurrency} cores`;
}
