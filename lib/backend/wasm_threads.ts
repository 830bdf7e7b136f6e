/**
 * The wasm backend's threaded SIMD build under Deno (opt-in: `RLHF_WASM_THREADS=n`).
 *
 * tfjs-backend-wasm ships `tfjs-backend-wasm-threaded-simd.wasm`, whose XNNPACK kernels
 * (matmul, conv) split work over a pthread pool of Web Workers. Out of the box Deno never
 * loads it: tfjs sees Node's `process` and turns threads off, and forcing the flag makes
 * emscripten's glue take its Node path (`worker_threads` with blob URLs, which Deno
 * refuses). This module loads the build itself, the way a browser would:
 *
 * - the glue runs with `process`/`require`/`module` hidden, so it takes the web path;
 * - its workers are module workers whose bootstrap provides `importScripts` (a synchronous
 *   file read) and runs emscripten's worker script with `process` hidden as well;
 * - `navigator.hardwareConcurrency` is shown as 2n to the glue, because the C++ side caps
 *   the pool at half the logical cores (it assumes two hyperthreads per core);
 * - the module is registered as the `wasm` backend, so every wasm kernel (and the matmul
 *   rewrite of `kernels.ts`) runs on it unchanged.
 *
 * Measured on the shared 2-core dev machine: the pool starts and XNNPACK matmuls do split
 * their work across both threads, but with other processes on the cores there is no free
 * core to gain from, so the default stays single-threaded.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { BackendWasm, setThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { BackendError } from "../util/errors.ts";
import { nodeModulesDir } from "../util/node_modules.ts";

/** Where the package's emscripten outputs live (see {@link nodeModulesDir}). */
function wasmOutDir(): URL {
  return new URL("@tensorflow/tfjs-backend-wasm/wasm-out/", nodeModulesDir());
}

const GLUE = "tfjs-backend-wasm-threaded-simd.js";
const WORKER = "tfjs-backend-wasm-threaded-simd.worker.js";
const BINARY = "tfjs-backend-wasm-threaded-simd.wasm";

/** The module-worker bootstrap of one pthread, as source text. */
function bootstrapSource(dir: URL): string {
  return `
const hide = (src, ret) =>
  new Function("process", "require", "module", "exports", "define", src + "\\n;return " + ret + ";");
globalThis.importScripts = (url) => {
  globalThis.WasmBackendModuleThreadedSimd =
    hide(Deno.readTextFileSync(new URL(url)), "WasmBackendModuleThreadedSimd")();
};
const m = { exports: {} };
new Function("module", Deno.readTextFileSync(new URL(${
    JSON.stringify(new URL(WORKER, dir).href)
  })))(m);
// The worker script is a string with literal newlines inside its string literals.
new Function("process", "require", m.exports.wasmWorkerContents.replace(/\\n/g, "\\\\n"))();
`;
}

/** The emscripten module's API that tfjs's BackendWasm expects. */
// deno-lint-ignore no-explicit-any
type EmscriptenModule = any;

let installedThreads = 0;

/** Threads of the installed threaded backend (0: the stock single-threaded one). */
export function wasmThreads(): number {
  return installedThreads;
}

/**
 * `RLHF_WASM_THREADS` as a thread count: unset, empty or 1 means single-threaded.
 * @throws BackendError for anything but an integer from 1 to 16.
 */
export function wasmThreadsFromEnv(): number {
  let v: string | undefined;
  try {
    v = Deno.env.get("RLHF_WASM_THREADS");
  } catch {
    return 1; // no env permission
  }
  if (v === undefined || v.trim() === "") return 1;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 16) {
    throw new BackendError(`RLHF_WASM_THREADS must be an integer from 1 to 16, got ${v}`);
  }
  return n;
}

/**
 * Register the threaded SIMD build as the `wasm` backend with `threads` pool threads.
 * Call before the wasm backend is first selected; a second call is a no-op.
 * @throws BackendError when the build's files, SharedArrayBuffer or workers are missing.
 */
export async function installThreadedWasm(threads: number): Promise<void> {
  if (installedThreads) return;
  if (typeof SharedArrayBuffer === "undefined" || typeof Worker === "undefined") {
    throw new BackendError("threaded wasm needs SharedArrayBuffer and Web Workers");
  }
  const dir = wasmOutDir();
  let glue: string, binary: Uint8Array;
  try {
    glue = await Deno.readTextFile(new URL(GLUE, dir));
    binary = await Deno.readFile(new URL(BINARY, dir));
  } catch (e) {
    throw new BackendError(
      `threaded wasm: cannot read ${GLUE} and ${BINARY} in ${dir.pathname} (${
        (e as Error).message
      }); run deno install, or unset RLHF_WASM_THREADS`,
    );
  }
  const boot = URL.createObjectURL(
    new Blob([bootstrapSource(dir)], { type: "application/javascript" }),
  );
  class PthreadWorker extends Worker {
    constructor(_url: string | URL) {
      super(boot, { type: "module" });
    }
  }
  const factory = new Function(
    "process",
    "require",
    "module",
    "exports",
    "define",
    "Worker",
    "navigator",
    `${glue}\n;return WasmBackendModuleThreadedSimd;`,
  )(undefined, undefined, undefined, undefined, undefined, PthreadWorker, {
    hardwareConcurrency: 2 * threads,
  }) as (config: object) => Promise<EmscriptenModule>;
  const mod = await factory({
    locateFile: (path: string) => new URL(path, dir).href,
    mainScriptUrlOrBlob: new URL(GLUE, dir).href,
    wasmBinary: binary,
  });
  mod.tfjs = {
    init: mod.cwrap("init", null, []),
    initWithThreadsCount: mod.cwrap("init_with_threads_count", null, ["number"]),
    getThreadsCount: mod.cwrap("get_threads_count", "number", []),
    registerTensor: mod.cwrap("register_tensor", null, ["number", "number", "number"]),
    disposeData: mod.cwrap("dispose_data", null, ["number"]),
    dispose: mod.cwrap("dispose", null, []),
  };
  setThreadsCount(threads);
  if (tf.findBackendFactory("wasm")) tf.removeBackend("wasm");
  tf.registerBackend("wasm", () => new BackendWasm(mod), 2);
  installedThreads = threads;
}
