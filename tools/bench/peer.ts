/**
 * Peers measured side by side: `deno task bench --peer torch` times the same model and
 * workloads in PyTorch (peer_torch.py) in the same bench run, interleaved with the deno
 * side round by round (deno, torch, deno, torch …) so both see the same machine load.
 *
 * Each round is one fresh process per side that builds the model, runs `warmup` untimed
 * and `repeats` timed iterations of each workload and reports the times; a round's figure
 * is its median. Over the rounds each side gets a median and a min–max spread, and the
 * ratio deno / torch of the medians comes with the spread of the per-round ratios (a
 * round's two sides ran back to back, so their ratio is the fairest single number).
 * Both sides report their parameter count, and a mismatch stops the comparison.
 *
 * @module
 */
import type { ModelConfig } from "../../lib/models/config.ts";
import { CausalLM } from "../../lib/models/causal_lm.ts";
import type { BackendInfo } from "../../lib/backend/mod.ts";
import { timeSampling, timeTraining } from "./lm_sections.ts";
import type { TRAIN_STEP, Workload } from "./workloads.ts";
import { summarize } from "./timing.ts";

/** Peers the bench knows. */
export const PEERS = ["torch"] as const;
/** A peer's name. */
export type PeerName = (typeof PEERS)[number];

/** The workload both sides run, sent to the peer as JSON on its command line. */
export interface PeerJob {
  /** The model's shape. */
  model: ModelConfig;
  /** Workload sizes. */
  workload: Workload;
  /** The training step's AdamW settings ({@link TRAIN_STEP}). */
  step: typeof TRAIN_STEP;
  /** Threads the side may compute with (the deno side's own count, given to torch). */
  threads: number;
  /** Untimed iterations per workload and round. */
  warmup: number;
  /** Timed iterations per workload and round. */
  repeats: number;
  /** Seed of the weights and the random tokens. */
  seed: number;
}

/** What one side measured in one round. */
export interface RoundResult {
  /** `deno <backend>` or `torch`. */
  side: string;
  /** tfjs or torch version. */
  version: string;
  /** Threads it computed with. */
  threads: number;
  /** Trainable parameters of its model. */
  params: number;
  /** The peer's BLAS library (torch on Debian uses whatever libblas.so.3 is). */
  blas?: string;
  /** Milliseconds of each timed training step. */
  train: { ms: number[] };
  /** Milliseconds of each timed sampling call. */
  sample: { ms: number[] };
}

/** Tokens/s over rounds: the median of the per-round figures and their range. */
export interface Spread {
  /** Median over rounds. */
  median: number;
  /** Slowest round. */
  min: number;
  /** Fastest round. */
  max: number;
  /** One figure per round (that round's median iteration). */
  perRound: number[];
}

/** One workload compared. */
export interface PeerFigure {
  /** Which workload. */
  workload: "train" | "sample";
  /** Tokens one iteration processes. */
  tokensPerIteration: number;
  /** FLOPs of one iteration (flops.ts), the same on both sides. */
  flopsPerIteration: number;
  /** The deno side's tokens/s. */
  deno: Spread;
  /** The peer's tokens/s. */
  peer: Spread;
  /** deno median / peer median. */
  ratio: number;
  /** Range of the per-round ratios. */
  ratioRange: [number, number];
}

/** The comparison as written to bench.json. */
export interface PeerReport {
  /** Which peer. */
  peer: PeerName;
  /** The deno backend compared. */
  backend: string;
  /** `ok`, or why there are no figures. */
  status: "ok" | "skipped" | "error";
  /** Why it was skipped or failed (one line). */
  message?: string;
  /** Peer version, when it ran. */
  version?: string;
  /** The peer's BLAS library, when it says. */
  blas?: string;
  /** Threads each side computed with. */
  threads?: { deno: number; peer: number };
  /** Parameter counts of both sides (equal when status is ok). */
  params?: { deno: number; peer: number };
  /** Interleaved rounds. */
  rounds: number;
  /** The workload both sides ran. */
  job: PeerJob;
  /** One per workload (empty unless ok). */
  figures: PeerFigure[];
  /** Every round's raw timings, both sides, in run order. */
  raw?: { deno: RoundResult[]; peer: RoundResult[] };
}

/** Where peer_torch.py lives. */
export function torchPeerScript(): string {
  return new URL("./peer_torch.py", import.meta.url).pathname;
}

/** The one line printed when the peer cannot run, saying how to install it. */
export function torchMissingLine(python: string, why: string): string {
  return `peer torch: skipped — ${python} cannot import torch (${why}); install it with ` +
    "`apt-get install python3-torch` (Debian/Ubuntu) or `pip install torch`, " +
    "or name another interpreter with --python";
}

/** The peer could not run at all (no interpreter, no torch): skip it, not an error. */
export class PeerUnavailable extends Error {}

/** What the torch peer says about itself before any timing (`"probe": true`). */
export type PeerProbe = Pick<RoundResult, "version" | "threads" | "params" | "blas">;

/**
 * Run peer_torch.py on `job` and parse its one JSON line.
 * @throws PeerUnavailable when the interpreter or torch is missing; Error when it fails.
 */
async function callTorch(
  python: string,
  job: PeerJob & { probe?: boolean },
): Promise<Record<string, unknown>> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(python, {
      args: [torchPeerScript(), JSON.stringify(job)],
      // OpenMP and BLAS pools size themselves from these before torch.set_num_threads runs.
      env: {
        OMP_NUM_THREADS: `${job.threads}`,
        MKL_NUM_THREADS: `${job.threads}`,
        OPENBLAS_NUM_THREADS: `${job.threads}`,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new PeerUnavailable(torchMissingLine(python, "no such interpreter"));
    }
    throw e;
  }
  const text = new TextDecoder().decode(out.stdout).trim();
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = JSON.parse(text.split("\n").pop() ?? "");
  } catch {
    parsed = undefined;
  }
  if (out.code === 3 && parsed?.error === "torch-missing") {
    throw new PeerUnavailable(torchMissingLine(python, String(parsed.message)));
  }
  if (out.code !== 0 || !parsed || parsed.error) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
    throw new Error(`the torch peer exited with code ${out.code}: ${parsed?.message ?? err}`);
  }
  return parsed;
}

/**
 * Ask the torch peer for its version, threads and parameter count on `job`'s model.
 * @throws PeerUnavailable when the interpreter or torch is missing; Error when it fails.
 */
export async function probeTorch(python: string, job: PeerJob): Promise<PeerProbe> {
  return await callTorch(python, { ...job, probe: true }) as unknown as PeerProbe;
}

/**
 * Run one torch round.
 * @throws PeerUnavailable when the interpreter or torch is missing; Error when it fails.
 */
export async function runTorchRound(python: string, job: PeerJob): Promise<RoundResult> {
  const r = await callTorch(python, job) as unknown as Omit<RoundResult, "side">;
  return { side: "torch", ...r };
}

/**
 * Run one deno round in this process on the active backend (the child side of a round).
 * Times the same loops as the `train` and `sample` sections, without phases.
 */
export async function runDenoRound(info: BackendInfo, job: PeerJob): Promise<RoundResult> {
  const env = {
    info,
    model: job.model,
    workload: job.workload,
    quick: false,
    profile: false,
    log: () => {},
  };
  const reps = { warmup: job.warmup, repeats: job.repeats };
  const lm = CausalLM.create(job.model, 0);
  let params = 0;
  for (const p of lm.params.values()) params += p.size;
  lm.dispose();
  const train = await timeTraining(env, { phases: false, reps });
  const sample = await timeSampling(env, reps);
  return {
    side: `deno ${info.backend}`,
    version: info.tfjs,
    threads: job.threads,
    params,
    train: { ms: train.ms.samples },
    sample: { ms: sample.ms.samples },
  };
}

/** Median, min and max of per-round tokens/s. */
export function spread(perRound: number[]): Spread {
  const s = summarize(perRound);
  return { median: s.median, min: s.min, max: s.max, perRound };
}

/**
 * Compare rounds of both sides: per workload, each side's spread of per-round tokens/s and
 * the ratio. Rounds are paired by index.
 * @throws Error when the two sides' parameter counts differ.
 */
export function comparePeer(
  deno: RoundResult[],
  peer: RoundResult[],
  tokens: { train: number; sample: number },
  flops: { train: number; sample: number },
): PeerFigure[] {
  for (const [i, d] of deno.entries()) {
    const p = peer[i];
    if (p && p.params !== d.params) {
      throw new Error(
        `parameter counts differ: ${d.side} has ${d.params}, ${p.side} has ${p.params}; ` +
          "the peer is not the same model",
      );
    }
  }
  return (["train", "sample"] as const).map((w) => {
    const rate = (r: RoundResult) => tokens[w] / (summarize(r[w].ms).median / 1000);
    const d = deno.map(rate), p = peer.map(rate);
    const ratios = d.map((x, i) => x / p[i]!);
    const ds = spread(d), ps = spread(p);
    return {
      workload: w,
      tokensPerIteration: tokens[w],
      flopsPerIteration: flops[w],
      deno: ds,
      peer: ps,
      ratio: ds.median / ps.median,
      ratioRange: [Math.min(...ratios), Math.max(...ratios)],
    };
  });
}
