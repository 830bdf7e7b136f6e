/**
 * `deno task bench [--backend wasm,webgpu] [--sections train,sample] [--peer torch] [--quick]`:
 * training and sampling speed of the reference model (vocab 2000, d 128, 2 layers,
 * 4 heads, context 32) on each backend, in tokens/s and in GFLOP/s against the machine's
 * estimated peak, and, with `--peer torch`, the same model in PyTorch measured in the
 * same run. Each backend runs in its own process (one tfjs backend per process, nothing
 * shared between them); the figures go to `results/bench/bench.json`.
 *
 * Options:
 * - `--backend a,b`: backends to run (default tensorflow,webgpu,wasm,cpu; a missing one
 *   gets a one-line reason instead of figures);
 * - `--sections a,b`: sections of `sections.ts` (default all; `none` for only the peer);
 * - `--peer torch`: time tools/bench/peer_torch.py on the same model and workloads,
 *   interleaved round by round with the deno side (wasm, or the one `--backend` named);
 * - `--rounds n`: rounds of the peer comparison (default 5; 1 with `--quick`);
 * - `--python path`: the interpreter with torch (default `RLHF_PYTHON`, else
 *   /usr/bin/python3);
 * - `--quick`: few repetitions — a smoke run, not a measurement;
 * - `--profile`: add per-kernel time totals of one training step;
 * - `--model reference|reference-b256|large|tiny`: the model and workload (tiny is for tests;
 *   reference-b256 and large are the GPU figures of the speed issue);
 * - `--out path`: where the JSON goes (default results/bench/bench.json);
 * - `--help`: this list and the sections.
 *
 * Permissions: children get only permissions this process holds, scoped to what they
 * need (child_permissions.ts); the torch peer is an ordinary Python process that prints
 * JSON and writes nothing.
 *
 * Environment: `RLHF_WASM_THREADS=n` runs wasm on its threaded SIMD build (off by
 * default; see lib/backend/wasm_threads.ts) and gives torch the same n threads;
 * XDG_RUNTIME_DIR defaults to /tmp for webgpu.
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { BACKEND_NAMES, cpuModel, parseBackendName } from "../../lib/backend/mod.ts";
import type { ModelConfig } from "../../lib/models/config.ts";
import { writeTextAtomic } from "../../lib/util/atomic_write.ts";
import { ConfigError } from "../../lib/util/errors.ts";
import { runCli } from "../../experiments/cli.ts";
import { BENCH_SECTIONS, sectionNames } from "./sections.ts";
import { loadAverage } from "./timing.ts";
import { BENCH_MODELS, TRAIN_STEP, type Workload } from "./workloads.ts";
import { estimatePeak, type PeakEstimate, readLscpu } from "./peak.ts";
import { parameterCount, samplingFlops, trainStepFlops } from "./flops.ts";
import {
  comparePeer,
  type PeerJob,
  type PeerName,
  type PeerReport,
  PEERS,
  PeerUnavailable,
  probeTorch,
  type RoundResult,
  runTorchRound,
} from "./peer.ts";
import {
  type Backend,
  backendThreads,
  roundChild,
  runBackend,
  runChildProcess,
  sectionsChild,
} from "./child.ts";
import { type BackendReport, formatBackend, formatPeak, formatPeer } from "./report.ts";

/** Backends run when `--backend` is not given. */
export const DEFAULT_BACKENDS = ["tensorflow", "webgpu", "wasm", "cpu"] as const;

/** The interpreter asked for torch when neither `--python` nor `RLHF_PYTHON` names one. */
export const DEFAULT_PYTHON = "/usr/bin/python3";

/** Parsed command line. */
export interface BenchArgs {
  /** Backends to run, each in its own process. */
  backends: Backend[];
  /** Sections to run on each (empty: only the peer). */
  sections: string[];
  /** Few repetitions: a smoke run. */
  quick: boolean;
  /** Add per-kernel totals of a training step. */
  profile: boolean;
  /** A key of BENCH_MODELS. */
  model: string;
  /** Where bench.json goes. */
  out: string;
  /** The peer to measure side by side, if any. */
  peer?: PeerName;
  /** Rounds of the peer comparison. */
  rounds: number;
  /** Interpreter for the torch peer. */
  python: string;
  /** Internal: run one backend in this process and write its result here. */
  child?: { backend: Backend; result: string; round?: PeerJob };
  /** Print the usage and exit. */
  help: boolean;
}

/** The `--help` text. */
export function benchUsage(): string {
  const sections = BENCH_SECTIONS.map((s) => `  ${s.name.padEnd(12)} ${s.describe}`);
  return [
    "deno task bench [--backend tensorflow,webgpu,wasm,cpu] [--sections a,b|none] [--quick]",
    `                [--peer ${PEERS.join("|")}] [--rounds 5] [--python ${DEFAULT_PYTHON}]`,
    `                [--profile] [--model ${
      Object.keys(BENCH_MODELS).join("|")
    }] [--out results/bench/bench.json]`,
    "sections:",
    ...sections,
    "RLHF_WASM_THREADS=n runs wasm on its threaded SIMD build (default: one thread);",
    "the torch peer computes with as many threads as the deno backend it is compared with.",
  ].join("\n");
}

function defaultPython(): string {
  try {
    return Deno.env.get("RLHF_PYTHON") || DEFAULT_PYTHON;
  } catch {
    return DEFAULT_PYTHON;
  }
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
        peer: { type: "string" },
        rounds: { type: "string" },
        python: { type: "string" },
        child: { type: "string" },
        result: { type: "string" },
        round: { type: "string" },
        help: { type: "boolean", default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new ConfigError(`bench: ${(e as Error).message}`);
  }
  const list = (s: string | undefined) => s?.split(",").map((x) => x.trim()).filter(Boolean);
  const backend = (n: string): Backend => {
    const b = parseBackendName(n);
    if (b === "auto") {
      throw new ConfigError(
        `--backend takes names, not auto: ${BACKEND_NAMES.slice(1).join(", ")}`,
      );
    }
    return b;
  };
  const backends = (list(v.backend) ?? [...DEFAULT_BACKENDS]).map(backend);
  const known = sectionNames();
  const sections = v.sections === "none" ? [] : list(v.sections) ?? known;
  for (const s of sections) {
    if (!known.includes(s)) {
      throw new ConfigError(
        `unknown section ${JSON.stringify(s)}; allowed: ${known.join(", ")}, or none`,
      );
    }
  }
  if (!(v.model! in BENCH_MODELS)) {
    throw new ConfigError(
      `--model must be one of ${Object.keys(BENCH_MODELS).join(", ")}, got ${v.model}`,
    );
  }
  if (v.peer !== undefined && !(PEERS as readonly string[]).includes(v.peer)) {
    throw new ConfigError(`--peer must be one of ${PEERS.join(", ")}, got ${v.peer}`);
  }
  const rounds = v.rounds === undefined ? (v.quick ? 1 : 5) : Number(v.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new ConfigError(`--rounds must be an integer >= 1, got ${v.rounds}`);
  }
  let child: BenchArgs["child"];
  if (v.child !== undefined) {
    if (!v.result) throw new ConfigError("--child needs a backend and --result");
    let round: PeerJob | undefined;
    try {
      round = v.round === undefined ? undefined : JSON.parse(v.round) as PeerJob;
    } catch {
      throw new ConfigError(`--round takes a JSON job, got ${v.round}`);
    }
    child = { backend: backend(v.child), result: v.result, round };
  }
  return {
    backends,
    sections,
    quick: v.quick!,
    profile: v.profile!,
    model: v.model!,
    out: v.out!,
    peer: v.peer as PeerName | undefined,
    rounds,
    python: v.python ?? defaultPython(),
    child,
    help: v.help!,
  };
}

/** The whole benchmark, as written to bench.json. */
export interface BenchReport {
  /** When it ran (ISO 8601). */
  date: string;
  /** CPU model and logical cores. */
  machine: string;
  /** Deno version. */
  deno: string;
  /** tfjs version. */
  tfjs: string;
  /** The model measured. */
  model: ModelConfig;
  /** Its workload sizes. */
  workload: Workload;
  /** A smoke run, not a measurement. */
  quick: boolean;
  /** 1/5/15-minute load averages before and after (as `uptime`): the machine may be shared. */
  load: { before?: number[]; after?: number[] };
  /** The machine's estimated fp32 peak (peak.ts), when lscpu could tell. */
  peak?: PeakEstimate;
  /** Per-backend figures. */
  backends: BackendReport[];
  /** The side-by-side peer comparison, with `--peer`. */
  peer?: PeerReport;
}

const SCRIPT = new URL(import.meta.url).pathname;

/** The arguments a sections child needs after `--child b --result f`. */
function sectionArgs(a: BenchArgs): string[] {
  return [
    "--model",
    a.model,
    "--sections",
    a.sections.length ? a.sections.join(",") : "none",
    ...(a.quick ? ["--quick"] : []),
    ...(a.profile ? ["--profile"] : []),
  ];
}

/** The deno backend the peer is compared with: the only one named, else wasm. */
export function peerBackend(a: BenchArgs): Backend {
  return a.backends.length === 1 ? a.backends[0]! : "wasm";
}

/** Run the peer comparison: `rounds` × (deno round, peer round), interleaved. */
async function runPeer(a: BenchArgs, log: (m: string) => void): Promise<PeerReport> {
  const { model, workload } = BENCH_MODELS[a.model]!;
  const backend = peerBackend(a);
  const job: PeerJob = {
    model,
    workload,
    step: TRAIN_STEP,
    threads: backendThreads(backend),
    // As many warm-ups as the sections take: a round starts a fresh process (cold JIT).
    warmup: a.quick ? 1 : 3,
    repeats: a.quick ? 1 : 5,
    seed: 0,
  };
  const report: PeerReport = {
    peer: a.peer!,
    backend,
    status: "ok",
    rounds: a.rounds,
    job,
    figures: [],
  };
  const deno: RoundResult[] = [], peer: RoundResult[] = [];
  try {
    // Before any timing: is torch there, and is its model the same size as ours?
    const probe = await probeTorch(a.python, job);
    if (probe.params !== parameterCount(model)) {
      throw new Error(
        `parameter counts differ: deno ${parameterCount(model)}, torch ${probe.params}; ` +
          "the peer is not the same model",
      );
    }
    for (let i = 0; i < a.rounds; i++) {
      log(`peer round ${i + 1}/${a.rounds}: deno ${backend}, then ${a.peer}`);
      const d = await runChildProcess<RoundResult>({
        script: SCRIPT,
        backend,
        args: ["--round", JSON.stringify(job)],
      });
      if (!d.ok) throw new Error(d.message);
      deno.push(d.value);
      peer.push(await runTorchRound(a.python, job));
    }
    const w = workload;
    report.figures = comparePeer(deno, peer, {
      train: w.trainBatch * w.trainLength,
      sample: w.sampleBatch * w.newTokens,
    }, { train: trainStepFlops(model, w), sample: samplingFlops(model, w) });
    report.version = peer[0]!.version;
    report.blas = probe.blas;
    report.raw = { deno, peer };
    report.threads = { deno: deno[0]!.threads, peer: peer[0]!.threads };
    report.params = { deno: deno[0]!.params, peer: peer[0]!.params };
  } catch (e) {
    report.status = e instanceof PeerUnavailable ? "skipped" : "error";
    report.message = e instanceof PeerUnavailable
      ? e.message
      : `peer ${a.peer}: error: ${(e as Error).message}`;
  }
  return report;
}

/** Run the benchmark on every requested backend (and the peer) and write the report. */
export async function bench(
  a: BenchArgs,
  log = (m: string) => console.log(m),
): Promise<BenchReport> {
  const { model, workload } = BENCH_MODELS[a.model]!;
  const machine = cpuModel();
  const peak = estimatePeak(readLscpu() ?? "");
  const before = loadAverage();
  log(
    `bench: ${machine}; Deno ${Deno.version.deno}, tfjs ${tf.version.tfjs}; load average ${
      before?.map((x) => x.toFixed(2)).join(", ") ?? "n/a"
    }${a.quick ? "; --quick: smoke run, not a measurement" : ""}`,
  );
  log(formatPeak(peak));
  const backends: BackendReport[] = [];
  if (a.sections.length) {
    for (const b of a.backends) {
      const r = await runBackend(SCRIPT, b, sectionArgs(a));
      backends.push(r);
      for (const line of formatBackend(r, machine, peak)) log(line);
    }
  }
  let peer: PeerReport | undefined;
  if (a.peer) {
    peer = await runPeer(a, log);
    for (const line of formatPeer(peer, peak)) log(line);
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
    peak,
    backends,
    peer,
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
    if (a.child?.round) {
      await roundChild(a.child.backend, a.child.result, a.child.round);
      return;
    }
    if (a.child) {
      await sectionsChild({
        backend: a.child.backend,
        result: a.child.result,
        bench: BENCH_MODELS[a.model]!,
        sections: a.sections,
        quick: a.quick,
        profile: a.profile,
      });
      return;
    }
    const report = await bench(a);
    const failed = report.backends.some((b) => b.status === "error") ||
      report.peer?.status === "error";
    return failed ? 1 : 0;
  });
}
