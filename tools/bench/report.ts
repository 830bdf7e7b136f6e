/**
 * The bench's printout: one line per figure (tokens/s, spread, achieved GFLOP/s and its
 * share of the estimated peak), the peak's formula, and the peer comparison as a table.
 *
 * Shares of peak are taken of the peak of the cores a side computes with
 * (peak × threads / cores), since a one-thread run cannot use the other cores' units.
 *
 * @module
 */
import type { BackendName } from "../../lib/backend/mod.ts";
import type { BenchFigure } from "./section.ts";
import type { PeakEstimate } from "./peak.ts";
import type { PeerReport, Spread } from "./peer.ts";

/** What one backend produced. */
export interface BackendReport {
  /** Which backend. */
  backend: Exclude<BackendName, "auto">;
  /** `ok`, or why there are no figures. */
  status: "ok" | "not-installed" | "unavailable" | "error";
  /** The device, when it ran. */
  device?: string;
  /** Threads it computes with (see {@link backendThreads}). */
  threads?: number;
  /** Why it did not run. */
  message?: string;
  /** Its figures (empty unless ok). */
  figures: BenchFigure[];
}

/** The peak and the threads a side uses, to turn GFLOP/s into a share. */
export interface PeakContext {
  /** The machine's estimate, if known. */
  peak?: PeakEstimate;
  /** Threads the side computes with. */
  threads: number;
}

const fmt = (x: number) => Math.round(x).toLocaleString("en-US");

/** GFLOP/s of `flops` per iteration at `msPerIteration`. */
export function gflops(flops: number, msPerIteration: number): number {
  return flops / msPerIteration / 1e6;
}

/** Share (0–1) of the peak of `threads` cores that `achieved` GFLOP/s is. */
export function shareOfPeak(achieved: number, ctx: PeakContext): number | undefined {
  if (!ctx.peak) return undefined;
  const cores = Math.min(Math.max(1, ctx.threads), ctx.peak.cores);
  return achieved / (ctx.peak.gflops * cores / ctx.peak.cores);
}

/** `5.7 GFLOP/s, 3.4% of the 1-core peak`, or just the GFLOP/s without a peak. */
export function formatThroughput(achieved: number, ctx: PeakContext): string {
  const share = shareOfPeak(achieved, ctx);
  const cores = ctx.peak ? Math.min(Math.max(1, ctx.threads), ctx.peak.cores) : 0;
  return `${achieved.toFixed(1)} GFLOP/s` +
    (share === undefined ? "" : `, ${(100 * share).toFixed(1)}% of the ${cores}-core peak`);
}

/** The peak estimate line: the number and its formula, or why there is none. */
export function formatPeak(peak: PeakEstimate | undefined): string {
  return peak
    ? `peak (estimate): ${peak.gflops.toFixed(0)} GFLOP/s fp32 = ${peak.formula}`
    : "peak: unknown (lscpu missing, not allowed to run, or without core count, flags or clock)";
}

/** The printed lines of one backend's figures. */
export function formatBackend(r: BackendReport, machine: string, peak?: PeakEstimate): string[] {
  const tag = `[${r.backend} | ${machine}]`;
  if (r.status !== "ok") return [`${tag} ${r.status}: ${r.message ?? ""}`];
  const ctx = { peak, threads: r.threads ?? 1 };
  const lines = [`${tag} device: ${r.device}${r.threads ? `; threads: ${r.threads}` : ""}`];
  for (const f of r.figures) {
    const ms = f.ms;
    const rate = f.flopsPerIteration
      ? `; ${formatThroughput(gflops(f.flopsPerIteration, ms.median), ctx)}`
      : "";
    lines.push(
      `${tag} ${f.id}: ${fmt(f.tokensPerSecond)} tokens/s (${ms.median.toFixed(1)} ms/iter, ` +
        `median of ${ms.n}, range ${ms.min.toFixed(0)}–${ms.max.toFixed(0)})${rate} — ${f.label}` +
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

const range = (s: Spread) => `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;

/** The peer comparison as a table (or the one line saying why it did not run). */
export function formatPeer(r: PeerReport, peak?: PeakEstimate): string[] {
  if (r.status !== "ok") return [r.message ?? `peer ${r.peer}: ${r.status}`];
  const deno = `deno ${r.backend}`;
  const head = `peer ${r.peer} ${r.version}${r.blas ? ` (BLAS: ${r.blas})` : ""} vs ${deno}: ` +
    `${r.rounds} interleaved round(s) of ${r.job.warmup} untimed + ${r.job.repeats} timed ` +
    `iterations per workload; threads: deno ${r.threads!.deno}, ${r.peer} ${r.threads!.peer}; ` +
    `${fmt(r.params!.deno)} parameters on both sides`;
  const notes = r.blas?.startsWith("reference")
    ? [
      `note: this ${r.peer} multiplies matrices with the unoptimised reference BLAS ` +
      "(Debian's default libblas.so.3), not an optimised one as PyTorch usually has; " +
      "`apt-get install libopenblas0` switches it",
    ]
    : [];
  const rows: string[][] = [[
    "workload",
    "side",
    "tokens/s median (min–max over rounds)",
    "GFLOP/s (share of peak)",
  ]];
  for (const f of r.figures) {
    for (
      const [side, s, threads] of [
        [deno, f.deno, r.threads!.deno],
        [r.peer, f.peer, r.threads!.peer],
      ] as const
    ) {
      const g = f.flopsPerIteration * s.median / f.tokensPerIteration / 1e9;
      rows.push([f.workload, side, range(s), formatThroughput(g, { peak, threads })]);
    }
    rows.push([
      f.workload,
      `ratio deno/${r.peer}`,
      `${f.ratio.toFixed(2)} (per round ${f.ratioRange[0].toFixed(2)}–${
        f.ratioRange[1].toFixed(2)
      })`,
      "",
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  return [
    head,
    ...notes,
    ...rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c]!)).join("  ").trimEnd()),
  ];
}
