/**
 * A sweep's manifest, `<results>/<experiment>/manifest.json`: what every run's own manifest
 * says (kit version and commit, Deno, tfjs, backend, device) once for the sweep, the machine
 * it ran on, its command and wall time, and where the time went — per upstream stage
 * (taken from the cache, or the seconds it took) and per run (trained, cached or failed,
 * and seconds), with the runs' summed seconds beside the wall time they took together.
 *
 * Every unsharded sweep writes it. A directory without one (merged shards, an older kit)
 * gets one rebuilt from its runs' manifests and the stages in its cache
 * ({@link rebuildSweepManifest}), so its report still names commit, backend and machine.
 *
 * @module
 */
import { join, relative } from "node:path";
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import { kitVersion, type Manifest } from "../../lib/sweep/manifest.ts";
import { readJson, writeJson } from "../../lib/sweep/json_file.ts";
import { DONE_FILE, type DoneMarker } from "../../lib/sweep/stage_cache.ts";
import { formatSeconds } from "../../lib/util/progress.ts";

/** File name of the sweep manifest in a results directory. */
export const SWEEP_MANIFEST = "manifest.json";

/** The machine a sweep ran on. */
export interface Machine {
  /** Host name (null when it may not be read). */
  hostname: string | null;
  /** Operating system and architecture, e.g. `linux x86_64`. */
  os: string;
  /** Logical cores. */
  cpus: number;
  /** Total memory, GiB (null when it may not be read). */
  memoryGiB: number | null;
}

/** Where an upstream stage's time went in this sweep. */
export interface StageTime {
  /** Stage name (`data`, `base`, `sft`, `prefs`, `rm`, `refs`). */
  stage: string;
  /** Its cache key. */
  key: string;
  /** Taken from the cache in this sweep. */
  cached: boolean;
  /** Seconds it took when it was computed (its DONE marker); null when unknown. */
  seconds: number | null;
}

/** Where a run's time went in this sweep. */
export interface RunTime {
  /** The run. */
  run_id: string;
  /** Trained in this sweep, taken from the cache, or failed. */
  status: "trained" | "cached" | "failed";
  /** Seconds of training and evaluation (its manifest's); null when unknown. */
  seconds: number | null;
}

/** The sweep manifest (see the module doc). */
export interface SweepManifest {
  /** Experiment, e.g. `canonical`. */
  experiment: string;
  /** Preset of the directory. */
  preset: string;
  /** Kit version, git commit and whether the checkout had uncommitted changes. */
  kit: { version: string; commit: string | null; dirty: boolean | null };
  /** Deno version. */
  deno: string;
  /** tfjs version. */
  tfjs: string;
  /** tfjs backend of the runs. */
  backend: string;
  /** Device description. */
  device: string;
  /** The machine. */
  machine: Machine;
  /** The command line. */
  command: string[];
  /** Runs at a time. */
  jobs: number | null;
  /** When the sweep started and ended (ISO 8601). */
  startedAt: string | null;
  /** When it ended. */
  finishedAt: string | null;
  /** Wall time of the whole sweep, s (null when rebuilt from the runs). */
  seconds: number | null;
  /** Upstream stages. */
  stages: StageTime[];
  /** Runs. */
  runs: RunTime[];
  /**
   * Seconds of the runs trained in this sweep added up, and the wall time of the runs'
   * phase (less than the sum when runs ran in parallel).
   */
  runSeconds: { sum: number; wall: number | null };
  /** True when rebuilt from the runs' manifests rather than written by the sweep. */
  rebuilt?: boolean;
}

/** The machine this process runs on. */
export function thisMachine(): Machine {
  let hostname: string | null = null, memoryGiB: number | null = null;
  try {
    hostname = Deno.hostname();
  } catch {
    // no --allow-sys=hostname
  }
  try {
    memoryGiB = +(Deno.systemMemoryInfo().total / 2 ** 30).toFixed(1);
  } catch {
    // no --allow-sys=systemMemoryInfo
  }
  return {
    hostname,
    os: `${Deno.build.os} ${Deno.build.arch}`,
    cpus: navigator.hardwareConcurrency || 1,
    memoryGiB,
  };
}

/** The seconds a finished stage's DONE marker records (null when unreadable). */
export async function stageSeconds(dir: string): Promise<number | null> {
  const marker = await readJson<DoneMarker>(join(dir, DONE_FILE)).catch(() => undefined);
  return typeof marker?.seconds === "number" ? marker.seconds : null;
}

/** A run's published manifest, if readable. */
export async function readRunManifest(runDir: string): Promise<Manifest | undefined> {
  return await readJson<Manifest>(join(runDir, "manifest.json")).catch(() => undefined);
}

/** What a sweep knows when it writes its manifest. */
export interface SweepManifestInput {
  /** Experiment and preset. */
  experiment: string;
  /** Preset. */
  preset: string;
  /** Backend and device. */
  backend: { backend: string; device: string; tfjs: string };
  /** Runs at a time. */
  jobs: number;
  /** When the sweep started. */
  startedAt: Date;
  /** Upstream stages. */
  stages: StageTime[];
  /** Runs. */
  runs: RunTime[];
  /** Wall time of the runs' phase, s. */
  runsWall: number;
}

/** This process's command line: its main module (relative to the working directory) and args. */
function commandLine(): string[] {
  let main = Deno.mainModule;
  try {
    const url = new URL(main);
    main = url.protocol === "file:" ? relative(Deno.cwd(), decodeURIComponent(url.pathname)) : main;
  } catch {
    // no read permission for the cwd: keep the URL
  }
  return [main, ...Deno.args];
}

/** Build the manifest of a sweep that ends now. */
export async function buildSweepManifest(i: SweepManifestInput): Promise<SweepManifest> {
  const finished = new Date();
  return {
    experiment: i.experiment,
    preset: i.preset,
    kit: await kitVersion(),
    deno: Deno.version.deno,
    tfjs: i.backend.tfjs,
    backend: i.backend.backend,
    device: i.backend.device,
    machine: thisMachine(),
    command: commandLine(),
    jobs: i.jobs,
    startedAt: i.startedAt.toISOString(),
    finishedAt: finished.toISOString(),
    seconds: (finished.getTime() - i.startedAt.getTime()) / 1000,
    stages: i.stages,
    runs: i.runs,
    runSeconds: {
      sum: i.runs.filter((r) => r.status === "trained").reduce((a, r) => a + (r.seconds ?? 0), 0),
      wall: i.runsWall,
    },
  };
}

/**
 * The sweep manifest of `root`: the `manifest.json` a sweep wrote there, else one rebuilt
 * from the runs' manifests (the first one's kit, backend and device; each run's seconds)
 * and the stages in `.cache/`, which is written for the next reader.
 * @param ids the runs of the directory's summary.
 */
export async function rebuildSweepManifest(
  root: string,
  ids: readonly string[],
  record: { experiment: string; preset: string },
): Promise<SweepManifest> {
  const have = await readJson<SweepManifest>(join(root, SWEEP_MANIFEST)).catch(() => undefined);
  // A sweep's own manifest is kept; one rebuilt earlier is rebuilt (a merge may add runs).
  if (have?.runs && have.stages && !have.rebuilt) return have;
  const manifests = await Promise.all(ids.map((id) => readRunManifest(join(root, id))));
  const first = manifests.find((m) => m !== undefined);
  const runs: RunTime[] = ids.map((id, i) => ({
    run_id: id,
    status: manifests[i]?.status === "failed" ? "failed" : "trained",
    seconds: manifests[i]?.seconds ?? null,
  }));
  const stages: StageTime[] = [];
  const cache = join(root, ".cache");
  for (const stage of ["data", "base", "sft", "prefs", "rm", "refs"]) {
    const keys: string[] = [];
    try {
      for await (const e of Deno.readDir(join(cache, stage))) {
        if (e.isDirectory && !e.name.startsWith(".")) keys.push(e.name);
      }
    } catch {
      continue; // no such stage in the cache
    }
    for (const key of keys.sort()) {
      stages.push({
        stage,
        key,
        cached: false,
        seconds: await stageSeconds(join(cache, stage, key)),
      });
    }
  }
  const started = manifests.map((m) => m?.startedAt).filter((t): t is string => !!t).sort();
  const finished = manifests.map((m) => m?.finishedAt).filter((t): t is string => !!t).sort();
  const manifest: SweepManifest = {
    experiment: record.experiment,
    preset: record.preset,
    kit: first?.kit ?? await kitVersion(),
    deno: first?.deno ?? Deno.version.deno,
    tfjs: first?.tfjs ?? "unknown",
    backend: first?.backend ?? "unknown",
    device: first?.device ?? "unknown",
    machine: thisMachine(),
    command: [],
    jobs: null,
    startedAt: started[0] ?? null,
    finishedAt: finished.at(-1) ?? null,
    seconds: null,
    stages,
    runs,
    runSeconds: { sum: runs.reduce((a, r) => a + (r.seconds ?? 0), 0), wall: null },
    rebuilt: true,
  };
  await writeJson(join(root, SWEEP_MANIFEST), manifest);
  return manifest;
}

/** Readable names of the upstream stages. */
export const STAGE_NAMES: Readonly<Record<string, string>> = {
  data: "data (corpus, tokenizer, prompts)",
  base: "base LM",
  sft: "SFT",
  prefs: "preference labelling",
  rm: "reward model",
  refs: "reference log-probs (DPO family)",
};

/** The stage times as a table: `stage, key, time` (`cached`, or seconds as text). */
export function stageTimeTable(m: SweepManifest): ColumnTable {
  return aq.from(
    m.stages.map((s) => ({
      stage: STAGE_NAMES[s.stage] ?? s.stage,
      key: s.key.slice(0, 8),
      time: s.cached
        ? `cached${s.seconds === null ? "" : ` (took ${formatSeconds(s.seconds)})`}`
        : s.seconds === null
        ? ""
        : formatSeconds(s.seconds),
    })),
    ["stage", "key", "time"],
  );
}

/** The run times as a table: `run, status, seconds`. */
export function runTimeTable(m: SweepManifest): ColumnTable {
  return aq.from(
    m.runs.map((r) => ({ run: r.run_id, status: r.status, seconds: r.seconds })),
    ["run", "status", "seconds"],
  );
}

/** One line: runs by outcome, their summed seconds and their wall time. */
export function runTimeLine(m: SweepManifest): string {
  const count = (s: RunTime["status"]) => m.runs.filter((r) => r.status === s).length;
  const wall = m.runSeconds.wall;
  return `runs: ${m.runs.length} (${count("trained")} trained, ${count("cached")} cached, ` +
    `${count("failed")} failed) · ${formatSeconds(m.runSeconds.sum)} of training and ` +
    `evaluation` + (wall === null ? "" : ` in ${formatSeconds(wall)} wall`) +
    (m.jobs ? ` (${m.jobs} at a time)` : "");
}
