/**
 * `deno task bench [--backend wasm,webgpu] [--sections train,sample] [--quick] [--profile]`:
 * training and sampling speed of the reference model (vocab 2000, d 128, 2 layers,
 * 4 heads, context 32) on each backend, next to the PyTorch CPU and straightforward
 * tfjs-wasm baselines. Each backend runs in its own process (one tfjs backend per
 * process, nothing shared between them); the figures go to `results/bench/bench.json`.
 *
 * Options:
 * - `--backend a,b`: backends to run (default tensorflow,webgpu,wasm,cpu; a missing one
 *   gets a one-line reason instead of figures);
 * - `--sections a,b`: sections of `lib/bench/sections.ts` (default all);
 * - `--quick`: two repetitions each — a smoke run, not a measurement;
 * - `--profile`: add per-kernel time totals of one training step;
 * - `--model reference|reference-b256|large|tiny`: the model and workload (tiny is for tests;
 *   reference-b256 and large are the GPU figures of the speed issue);
 * - `--out path`: where the JSON goes (default results/bench/bench.json);
 * - `--help`: this list and the sections.
 *
 * Environment: `RLHF_WASM_THREADS=n` runs wasm on its threaded SIMD build (off by
 * default; see lib/models/wasm_threads.ts); XDG_RUNTIME_DIR defaults to /tmp for webgpu.
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import {
  BACKEND_NAMES,
  type BackendInfo,
  type BackendName,
  cpuModel,
  initBackend,
  parseBackendName,
  TENSORFLOW_INSTALL_HINT,
  tensorflowInstalled,
} from "../lib/backend/mod.ts";
import { type ModelConfig, modelConfig, REFERENCE_MODEL } from "../lib/models/config.ts";
import {
  BASELINES,
  BENCH_SECTIONS,
  type BenchFigure,
  REFERENCE_WORKLOAD,
  runSections,
  sectionNames,
  type Workload,
} from "../lib/bench/sections.ts";
import { loadAverage } from "../lib/bench/timing.ts";
import { writeTextAtomic } from "../lib/util/atomic_write.ts";
import { BackendError, ConfigError } from "../lib/util/errors.ts";
import { spawnDeno } from "../lib/sweep/pool.ts";
import { runCli } from "./cli.ts";

/** Backends run when `--backend` is not given. */
export const DEFAULT_BACKENDS = ["tensorflow", "webgpu", "wasm", "cpu"] as const;

/** Models the bench can run: the reference one and a tiny one for smoke tests. */
export const BENCH_MODELS: Record<string, { model: ModelConfig; workload: Workload }> = {
  reference: { model: REFERENCE_MODEL, workload: REFERENCE_WORKLOAD },
  /** The reference model at batch 256: the GPU figure of the speed issue. */
  "reference-b256": {
    model: REFERENCE_MODEL,
    workload: { ...REFERENCE_WORKLOAD, trainBatch: 256 },
  },
  /** A larger model for GPUs: d_model 512, 6 layers, context 64. */
  large: {
    model: modelConfig({ vocabSize: 2000, dModel: 512, nLayers: 6, nHeads: 8, context: 64 }),
    workload: { ...REFERENCE_WORKLOAD, trainLength: 64 },
  },
  tiny: {
    model: modelConfig({ vocabSize: 64, dModel: 16, nLayers: 1, nHeads: 2, context: 16 }),
    workload: { trainBatch: 4, trainLength: 8, sampleBatch: 4, promptLength: 3, newTokens: 4 },
  },
};

/** Parsed command line. */
export interface BenchArgs {
  backends: Exclude<BackendName, "auto">[];
  sections: string[];
  quick: boolean;
  profile: boolean;
  model: string;
  out: string;
  /** Internal: run one backend in this process and write its report here. */
  child?: { backend: Exclude<BackendName, "auto">; result: string };
  /** Print the usage and exit. */
  help: boolean;
}

/** The `--help` text. */
export function benchUsage(): string {
  const sections = BENCH_SECTIONS.map((s) => `  ${s.name.padEnd(12)} ${s.describe}`);
  return [
    "deno task bench [--backend tensorflow,webgpu,wasm,cpu] [--sections a,b] [--quick]",
    `                [--profile] [--model ${
      Object.keys(BENCH_MODELS).join("|")
    }] [--out results/bench/bench.json]`,
    "sections:",
    ...sections,
    "RLHF_WASM_THREADS=n runs wasm on its threaded SIMD build (default: one thread).",
  ].join("\n");
}

/**
 * Parse the bench's arguments.
 * @throws ConfigError naming the bad option or value.
 */
export function parseBenchArgs(args: string[]): BenchArgs {
  let v;
  try {
    v = parseArgs({
      args,
      options: {
        backend: { type: "string" },
        sections: { type: "string" },
        quick: { type: "boolean", default: false },
        profile: { type: "boolean", default: false },
        model: { type: "string", default: "reference" },
        out: { type: "string", default: "results/bench/bench.json" },
        child: { type: "string" },
        result: { type: "string" },
        help: { type: "boolean", default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new ConfigError(`bench: ${(e as Error).message}`);
  }
  const list = (s: string | undefined) => s?.split(",").map((x) => x.trim()).filter(Boolean);
  const backends = (list(v.backend) ?? [...DEFAULT_BACKENDS]).map((n) => {
    const b = parseBackendName(n);
    if (b === "auto") {
      throw new ConfigError(
        `--backend takes names, not auto: ${BACKEND_NAMES.slice(1).join(", ")}`,
      );
    }
    return b;
  });
  const known = sectionNames();
  const sections = list(v.sections) ?? known;
  for (const s of sections) {
    if (!known.includes(s)) {
      throw new ConfigError(`unknown section ${JSON.stringify(s)}; allowed: ${known.join(", ")}`);
    }
  }
  if (!(v.model! in BENCH_MODELS)) {
    throw new ConfigError(
      `--model must be one of ${Object.keys(BENCH_MODELS).join(", ")}, got ${v.model}`,
    );
  }
  let child: BenchArgs["child"];
  if (v.child !== undefined) {
    const b = parseBackendName(v.child);
    if (b === "auto" || !v.result) throw new ConfigError("--child needs a backend and --result");
    child = { backend: b, result: v.result };
  }
  return {
    backends,
    sections,
    quick: v.quick!,
    profile: v.profile!,
    model: v.model!,
    out: v.out!,
    child,
    help: v.help!,
  };
}

/** What one backend produced. */
export interface BackendReport {
  backend: Exclude<BackendName, "auto">;
  /** `ok`, or why there are no figures. */
  status: "ok" | "not-installed" | "unavailable" | "error";
  /** The device, when it ran. */
  device?: string;
  /** Why it did not run. */
  message?: string;
  figures: BenchFigure[];
}

/** The whole benchmark, as written to bench.json. */
export interface BenchReport {
  date: string;
  machine: string;
  deno: string;
  tfjs: string;
  model: ModelConfig;
  workload: Workload;
  quick: boolean;
  /** 1/5/15-minute load averages before and after (as `uptime`): the machine may be shared. */
  load: { before?: number[]; after?: number[] };
  baselines: typeof BASELINES;
  backends: BackendReport[];
}

const fmt = (x: number) => Math.round(x).toLocaleString("en-US");

/** The printed lines of one backend's figures. */
export function formatBackend(r: BackendReport, machine: string): string[] {
  const tag = `[${r.backend} | ${machine}]`;
  if (r.status !== "ok") return [`${tag} ${r.status}: ${r.message ?? ""}`];
  const lines = [`${tag} device: ${r.device}`];
  for (const f of r.figures) {
    const ms = f.ms;
    lines.push(
      `${tag} ${f.id}: ${fmt(f.tokensPerSecond)} tokens/s (${ms.median.toFixed(1)} ms/iter, ` +
        `median of ${ms.n}, range ${ms.min.toFixed(0)}–${ms.max.toFixed(0)}) — ${f.label}` +
        (f.compare ? `; vs ${f.compare}` : ""),
    );
    if (f.phases) {
      const parts = Object.entries(f.phases).map(([k, v]) => `${k} ${v.toFixed(1)} ms`);
      lines.push(`${tag} ${f.id} phases: ${parts.join(", ")}`);
    }
    if (f.kernels?.length) {
      const total = f.kernels.reduce((s, k) => s + k.ms, 0);
      const top = f.kernels.slice(0, 8).map((k) =>
        `${k.kernel} ${k.ms.toFixed(1)} ms (${(100 * k.ms / total).toFixed(0)}%, ${k.calls}×)`
      );
      lines.push(`${tag} ${f.id} kernels: ${top.join(", ")}`);
    }
  }
  return lines;
}

/** Run the sections on one backend in this process (the child side). */
async function runChild(a: BenchArgs, child: NonNullable<BenchArgs["child"]>): Promise<void> {
  const { model, workload } = BENCH_MODELS[a.model]!;
  let report: BackendReport;
  let info: BackendInfo | undefined;
  try {
    info = await initBackend(child.backend);
  } catch (e) {
    if (!(e instanceof BackendError)) throw e;
    const missing = child.backend === "tensorflow";
    report = {
      backend: child.backend,
      status: missing ? "not-installed" : "unavailable",
      message: e.message,
      figures: [],
    };
  }
  if (info) {
    const sections = BENCH_SECTIONS.filter((s) => a.sections.includes(s.name));
    const figures = await runSections({
      info,
      model,
      workload,
      quick: a.quick,
      profile: a.profile,
      log: (m) => console.error(m),
    }, sections);
    report = { backend: child.backend, status: "ok", device: info.device, figures };
  }
  await writeTextAtomic(child.result, JSON.stringify(report!));
}

/** Run one backend in a child process and read its report. */
async function runBackend(a: BenchArgs, backend: BackendReport["backend"]): Promise<BackendReport> {
  if (backend === "tensorflow" && !tensorflowInstalled()) {
    return {
      backend,
      status: "not-installed",
      message: TENSORFLOW_INSTALL_HINT.split(". ")[0] + ".",
      figures: [],
    };
  }
  const result = await Deno.makeTempFile({ prefix: `bench-${backend}-`, suffix: ".json" });
  try {
    const args = [
      new URL(import.meta.url).pathname,
      "--child",
      backend,
      "--result",
      result,
      "--model",
      a.model,
      "--sections",
      a.sections.join(","),
      ...(a.quick ? ["--quick"] : []),
      ...(a.profile ? ["--profile"] : []),
    ];
    const env: Record<string, string> = {};
    if (!Deno.env.get("XDG_RUNTIME_DIR")) env.XDG_RUNTIME_DIR = "/tmp"; // quiets webgpu
    const code = await spawnDeno(args, {
      permissions: [
        "--allow-read",
        "--allow-write=/tmp",
        "--allow-env",
        "--allow-sys",
        "--allow-ffi", // the tensorflow backend is a native addon
        "--allow-run", // Deno reads /proc/cpuinfo (the device name) only with it
      ],
      env,
      prefix: backend,
    });
    const text = await Deno.readTextFile(result).catch(() => "");
    if (code !== 0 || !text) {
      return {
        backend,
        status: "error",
        message: `the ${backend} run exited with code ${code}`,
        figures: [],
      };
    }
    return JSON.parse(text) as BackendReport;
  } finally {
    await Deno.remove(result).catch(() => {});
  }
}

/** Run the benchmark on every requested backend and write the report. */
export async function bench(
  a: BenchArgs,
  log = (m: string) => console.log(m),
): Promise<BenchReport> {
  const { model, workload } = BENCH_MODELS[a.model]!;
  const machine = cpuModel();
  const before = loadAverage();
  log(
    `bench: ${machine}; Deno ${Deno.version.deno}, tfjs ${tf.version.tfjs}; load average ${
      before?.map((x) => x.toFixed(2)).join(", ") ?? "n/a"
    }${a.quick ? "; --quick: smoke run, not a measurement" : ""}`,
  );
  const backends: BackendReport[] = [];
  for (const b of a.backends) {
    const r = await runBackend(a, b);
    backends.push(r);
    for (const line of formatBackend(r, machine)) log(line);
  }
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine,
    deno: Deno.version.deno,
    tfjs: tf.version.tfjs,
    model,
    workload,
    quick: a.quick,
    load: { before, after: loadAverage() },
    baselines: BASELINES,
    backends,
  };
  await writeTextAtomic(a.out, JSON.stringify(report, null, 2) + "\n");
  log(
    `load average after: ${
      report.load.after?.map((x) => x.toFixed(2)).join(", ") ?? "n/a"
    }; wrote ${a.out}`,
  );
  return report;
}

if (import.meta.main) {
  await runCli(async () => {
    const a = parseBenchArgs(Deno.args);
    if (a.help) {
      console.log(benchUsage());
      return;
    }
    if (a.child) {
      await runChild(a, a.child);
      return;
    }
    const report = await bench(a);
    return report.backends.some((b) => b.status === "error") ? 1 : 0;
  });
}
