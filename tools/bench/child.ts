/**
 * The bench's child processes: one tfjs backend per process (tfjs holds one backend and
 * its memory globally), started by main.ts with permissions no wider than its own.
 *
 * - a sections child runs the named sections on one backend and writes a
 *   {@link BackendReport};
 * - a round child runs one deno round of the peer comparison and writes a
 *   {@link RoundResult}.
 *
 * @module
 */
import {
  type BackendInfo,
  type BackendName,
  initBackend,
  TENSORFLOW_INSTALL_HINT,
  tensorflowInstalled,
} from "../../lib/backend/mod.ts";
import { wasmThreadsFromEnv } from "../../lib/backend/wasm_threads.ts";
import { writeTextAtomic } from "../../lib/util/atomic_write.ts";
import { BackendError } from "../../lib/util/errors.ts";
import { KIT_ENV_VARS, KIT_SYS_KINDS } from "../../lib/sweep/permissions.ts";
import { spawnDeno } from "../../lib/sweep/pool.ts";
import { childPermissions, type PermissionRequest } from "./child_permissions.ts";
import type { PeerJob, RoundResult } from "./peer.ts";
import { runDenoRound } from "./peer.ts";
import type { BackendReport } from "./report.ts";
import { BENCH_SECTIONS, runSections } from "./sections.ts";
import type { BenchModel } from "./workloads.ts";

/** A backend name other than `auto`. */
export type Backend = Exclude<BackendName, "auto">;

/**
 * Threads a backend computes with on this machine: wasm its XNNPACK pool
 * (`RLHF_WASM_THREADS`, default 1), cpu one; tensorflow and webgpu (llvmpipe on a CPU)
 * size their own pools to the machine, counted as every core.
 */
export function backendThreads(backend: Backend): number {
  if (backend === "wasm") {
    try {
      return wasmThreadsFromEnv();
    } catch {
      return 1; // a bad value fails the child itself, with its message
    }
  }
  if (backend === "cpu") return 1;
  return navigator.hardwareConcurrency || 1;
}

/** What a child needs: its result directory, lscpu for the device name, ffi for tensorflow. */
function requests(backend: Backend, resultDir: string): PermissionRequest[] {
  const r: PermissionRequest[] = [
    { name: "read" },
    { name: "write", paths: [resultDir] },
    // the variables and system information the kit reads (deno.json grants the bench these)
    { name: "env", paths: [...KIT_ENV_VARS] },
    { name: "sys", paths: [...KIT_SYS_KINDS] },
    { name: "run", paths: ["lscpu"] }, // lib/backend/mod.ts's cpuModel(): /proc needs --allow-all
  ];
  if (backend === "tensorflow") {
    // tfjs-node is a native addon under node_modules (the task allows ffi only there).
    r.push({ name: "ffi", paths: [new URL("../../node_modules", import.meta.url).pathname] });
  }
  return r;
}

/** How main.ts runs a child: which file to start and what to tell it. */
export interface ChildSpec {
  /** The bench entry point (main.ts), which dispatches `--child`. */
  script: string;
  /** The backend it runs. */
  backend: Backend;
  /** Arguments after `--child <backend> --result <file>`. */
  args: string[];
}

/**
 * Start a child and read its JSON result.
 * @returns the parsed result, or a one-line reason it has none.
 */
export async function runChildProcess<T>(
  spec: ChildSpec,
): Promise<{ ok: true; value: T } | { ok: false; message: string }> {
  // A private directory: the child may write there only (its result, written atomically).
  const dir = await Deno.makeTempDir({ prefix: `bench-${spec.backend}-` });
  const result = `${dir}/result.json`;
  try {
    const { flags, missing } = childPermissions(requests(spec.backend, dir));
    if (missing.length) {
      return {
        ok: false,
        message: `the bench lacks ${missing.join(" ")}, which a ${spec.backend} child needs; ` +
          "run it through `deno task bench`",
      };
    }
    const env: Record<string, string> = {};
    if (!Deno.env.get("XDG_RUNTIME_DIR")) env.XDG_RUNTIME_DIR = "/tmp"; // quiets webgpu
    const code = await spawnDeno(
      [spec.script, "--child", spec.backend, "--result", result, ...spec.args],
      { permissions: flags, env, prefix: spec.backend },
    );
    const text = await Deno.readTextFile(result).catch(() => "");
    if (code !== 0 || !text) {
      return { ok: false, message: `the ${spec.backend} run exited with code ${code}` };
    }
    return { ok: true, value: JSON.parse(text) as T };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Run one backend's sections in a child and read its report. */
export async function runBackend(
  script: string,
  backend: Backend,
  args: string[],
): Promise<BackendReport> {
  if (backend === "tensorflow" && !tensorflowInstalled()) {
    return {
      backend,
      status: "not-installed",
      message: TENSORFLOW_INSTALL_HINT.split(". ")[0] + ".",
      figures: [],
    };
  }
  const r = await runChildProcess<BackendReport>({ script, backend, args });
  return r.ok ? r.value : { backend, status: "error", message: r.message, figures: [] };
}

/** Child side: initialise `backend`, or report why it cannot run here. */
async function init(backend: Backend): Promise<BackendInfo | BackendReport> {
  try {
    return await initBackend(backend);
  } catch (e) {
    if (!(e instanceof BackendError)) throw e;
    return {
      backend,
      status: backend === "tensorflow" ? "not-installed" : "unavailable",
      message: e.message,
      figures: [],
    };
  }
}

/** Child side of a sections run: run them and write the report to `result`. */
export async function sectionsChild(opts: {
  backend: Backend;
  result: string;
  bench: BenchModel;
  sections: string[];
  quick: boolean;
  profile: boolean;
}): Promise<void> {
  const info = await init(opts.backend);
  let report: BackendReport;
  if ("figures" in info) {
    report = info;
  } else {
    const figures = await runSections({
      info,
      ...opts.bench,
      quick: opts.quick,
      profile: opts.profile,
      log: (m) => console.error(m),
    }, BENCH_SECTIONS.filter((s) => opts.sections.includes(s.name)));
    report = {
      backend: opts.backend,
      status: "ok",
      device: info.device,
      threads: backendThreads(opts.backend),
      figures,
    };
  }
  await writeTextAtomic(opts.result, JSON.stringify(report));
}

/** Child side of a peer round: time the deno side and write it to `result`. */
export async function roundChild(backend: Backend, result: string, job: PeerJob): Promise<void> {
  const info = await init(backend);
  if ("figures" in info) throw new BackendError(info.message ?? `${backend} is unavailable`);
  const r: RoundResult = await runDenoRound(info, job);
  await writeTextAtomic(result, JSON.stringify(r));
}
