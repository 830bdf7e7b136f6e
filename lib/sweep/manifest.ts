/**
 * Run manifests: everything needed to rerun a result — kit version and git commit, Deno
 * and tfjs versions, backend and device, seed, the resolved config's hash, timings, and
 * the outcome (ok, or the error that stopped it).
 *
 * @module
 */
import type { BackendInfo } from "../backend/mod.ts";
import { writeTextAtomic } from "../util/atomic_write.ts";

/** The manifest written next to every run's results. */
export interface Manifest {
  kit: { version: string; commit: string | null; dirty: boolean | null };
  deno: string;
  v8: string;
  typescript: string;
  tfjs: string;
  backend: string;
  device: string;
  seed: number | null;
  configHash: string;
  command: string[];
  startedAt: string;
  finishedAt: string;
  seconds: number;
  status: "ok" | "failed";
  error?: { name: string; message: string; step?: number; quantity?: string };
  /** The last good checkpoint kept beside a failed run (file name in the run dir). */
  checkpoint?: { file: string; step: number };
  timings?: Record<string, number>;
}

/** The kit's version from deno.json, and the git commit (null outside a git checkout). */
export async function kitVersion(): Promise<Manifest["kit"]> {
  const root = new URL("../../", import.meta.url);
  let version = "unknown";
  try {
    version = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))).version ?? version;
  } catch {
    // no deno.json readable: leave unknown
  }
  const git = async (...args: string[]): Promise<string | null> => {
    try {
      const out = await new Deno.Command("git", {
        args,
        cwd: root.pathname,
        stdout: "piped",
        stderr: "null",
      }).output();
      return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
    } catch {
      return null; // no git, or no --allow-run
    }
  };
  const commit = await git("rev-parse", "HEAD");
  const status = commit ? await git("status", "--porcelain", "--untracked-files=no") : null;
  return { version, commit, dirty: status === null ? null : status.length > 0 };
}

/** Build a manifest for a run that started at `startedAt`. */
export async function buildManifest(o: {
  backend: BackendInfo;
  seed: number | null;
  configHash: string;
  startedAt: Date;
  status: Manifest["status"];
  error?: unknown;
  checkpoint?: Manifest["checkpoint"];
  timings?: Record<string, number>;
}): Promise<Manifest> {
  const finished = new Date();
  const err = o.error as
    | (Error & { step?: number; quantity?: string })
    | undefined;
  return {
    kit: await kitVersion(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    tfjs: o.backend.tfjs,
    backend: o.backend.backend,
    device: o.backend.device,
    seed: o.seed,
    configHash: o.configHash,
    command: [Deno.execPath().split("/").pop() ?? "deno", ...Deno.args],
    startedAt: o.startedAt.toISOString(),
    finishedAt: finished.toISOString(),
    seconds: (finished.getTime() - o.startedAt.getTime()) / 1000,
    status: o.status,
    ...(err
      ? {
        error: {
          name: err.name ?? "Error",
          message: err.message ?? String(err),
          ...(err.step !== undefined ? { step: err.step } : {}),
          ...(err.quantity !== undefined ? { quantity: err.quantity } : {}),
        },
      }
      : {}),
    ...(o.checkpoint ? { checkpoint: o.checkpoint } : {}),
    ...(o.timings ? { timings: o.timings } : {}),
  };
}

/** Write a manifest atomically as pretty JSON. */
export async function writeManifest(path: string, m: Manifest): Promise<void> {
  await writeTextAtomic(path, JSON.stringify(m, null, 2) + "\n");
}
