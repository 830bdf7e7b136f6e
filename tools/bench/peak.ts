/**
 * An estimate of the machine's peak fp32 throughput, from what `lscpu` prints:
 *
 *   peak = cores × lanes × 2 (a fused multiply-add is 2 FLOPs) × FMA units × clock
 *
 * - cores: physical cores (`Core(s) per socket` × `Socket(s)`); hyperthreads share the
 *   FMA units, so they add nothing;
 * - lanes: fp32 lanes of the widest vector unit the flags name: 16 for AVX-512
 *   (`avx512f`), 8 for AVX2 (`avx2`) or AVX, 4 for SSE; without `fma` the ×2 is dropped;
 * - FMA units per core: not in lscpu; 2 is assumed (Intel since Haswell, AMD since Zen).
 *   Cores that run AVX-512 as two 256-bit halves (AMD Zen 4) reach half the AVX-512
 *   figure, so read the result as an upper bound;
 * - clock: `CPU max MHz` (the boost ceiling), else `CPU MHz`, else BogoMIPS / 2 (on
 *   x86 Linux BogoMIPS is twice the TSC clock), which virtual machines often print alone.
 *
 * @module
 */

/** The estimate and how it was made. */
export interface PeakEstimate {
  /** Physical cores. */
  cores: number;
  /** Vector instruction set the lanes come from. */
  simd: "AVX-512" | "AVX2" | "AVX" | "SSE";
  /** fp32 lanes per vector. */
  lanes: number;
  /** FLOPs per lane per instruction: 2 with FMA, 1 without. */
  flopsPerLane: number;
  /** FMA (or vector) units per core, assumed. */
  fmaUnits: number;
  /** Clock in MHz. */
  mhz: number;
  /** Which lscpu field the clock came from. */
  clockSource: string;
  /** The estimate for all cores, GFLOP/s. */
  gflops: number;
  /** The formula with the numbers filled in. */
  formula: string;
}

/** The value of a `Key: value` line of lscpu output, if present. */
function field(text: string, key: string): string | undefined {
  const re = new RegExp(`^${key.replace(/[()]/g, "\\$&")}:\\s*(.+)$`, "m");
  return text.match(re)?.[1]?.trim();
}

/**
 * Estimate the peak from lscpu's text.
 * @param lscpu output of `lscpu` (English locale).
 * @param fmaUnits FMA units per core (default 2).
 * @returns undefined when the text lacks the core count, the flags or every clock field.
 */
export function estimatePeak(lscpu: string, fmaUnits = 2): PeakEstimate | undefined {
  const perSocket = Number(field(lscpu, "Core(s) per socket"));
  const sockets = Number(field(lscpu, "Socket(s)") ?? 1);
  const flags = new Set((field(lscpu, "Flags") ?? "").split(/\s+/));
  if (!(perSocket > 0) || !(sockets > 0) || flags.size <= 1) return undefined;
  const [simd, lanes]: [PeakEstimate["simd"], number] = flags.has("avx512f")
    ? ["AVX-512", 16]
    : flags.has("avx2")
    ? ["AVX2", 8]
    : flags.has("avx")
    ? ["AVX", 8]
    : ["SSE", 4];
  const flopsPerLane = flags.has("fma") ? 2 : 1;
  let mhz = NaN, clockSource = "";
  for (const key of ["CPU max MHz", "CPU MHz"]) {
    const v = Number(field(lscpu, key));
    if (v > 0) {
      [mhz, clockSource] = [v, key];
      break;
    }
  }
  if (!(mhz > 0)) {
    const bogo = Number(field(lscpu, "BogoMIPS"));
    if (bogo > 0) [mhz, clockSource] = [bogo / 2, "BogoMIPS / 2"];
  }
  if (!(mhz > 0)) return undefined;
  const cores = perSocket * sockets;
  const gflops = cores * lanes * flopsPerLane * fmaUnits * mhz / 1000;
  const formula = `${cores} cores × ${lanes} fp32 lanes (${simd}) × ${flopsPerLane} (${
    flopsPerLane === 2 ? "FMA" : "no FMA"
  }) × ${fmaUnits} FMA units (assumed) × ${(mhz / 1000).toFixed(2)} GHz (${clockSource})`;
  return { cores, simd, lanes, flopsPerLane, fmaUnits, mhz, clockSource, gflops, formula };
}

/** Run `lscpu` in the C locale; undefined where it is missing or running it is not allowed. */
export function readLscpu(): string | undefined {
  try {
    const out = new Deno.Command("lscpu", {
      env: { LC_ALL: "C" },
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    return out.success ? new TextDecoder().decode(out.stdout) : undefined;
  } catch {
    return undefined;
  }
}
