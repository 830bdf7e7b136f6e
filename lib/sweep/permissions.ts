/**
 * Least privilege for the kit's own processes: what the kit reads and runs (deno.json's
 * tasks grant exactly these, and a test holds them equal), and the permission flags of a
 * child `deno run`, narrowed to what this process holds.
 *
 * Deno lets a process with `--allow-run` start `deno run -A`, so only this discipline keeps
 * a worker from holding more than the task that started it: every scope a child is given
 * (each path, variable, program or sys kind) is checked with `Deno.permissions.querySync`,
 * and what this process lacks is left out and reported, never passed on.
 *
 * @module
 */

/** Environment variables the kit reads (`--allow-env=…` of every experiment task). */
export const KIT_ENV_VARS = [
  "RLHF_BACKEND", // lib/backend/select.ts: which tfjs backend
  "RLHF_WASM_THREADS", // lib/models/wasm_threads.ts
  "RLHF_PNG", // 0: no PNG export
  "RLHF_FAULT", // tests of the failure path (experiments/canonical/run.ts)
  "XDG_RUNTIME_DIR", // set for Mesa's Vulkan loader (webgpu)
  "CHROMIUM_PATH", // lib/plot/png.ts
  "PATH", // lib/plot/png.ts looks for a browser on it
  "TMPDIR", // where temp directories go (swept at start)
] as const;

/** `Deno` system information a sweep reads (`--allow-sys=…` of its tasks and workers). */
export const SWEEP_SYS_KINDS = [
  "hostname", // lock files name their holder's host
  "systemMemoryInfo", // a model's memory estimate is checked against the machine's
] as const;

/** `Deno` system information the kit reads: a sweep's, and the load benchmarks report. */
export const KIT_SYS_KINDS = [...SWEEP_SYS_KINDS, "loadavg"] as const;

/**
 * Programs the kit starts (`--allow-run=…`): Deno for worker processes, `ps` to tell a
 * dead lock holder on this host, git for the manifest's commit, lscpu for the CPU's name,
 * Chromium for image export and `pgrep` to find a browser left running by it.
 */
export const KIT_PROGRAMS = ["deno", "ps", "git", "lscpu", "chromium", "pgrep"] as const;

/** Permission kinds a child can be given. */
export type PermissionKind = "read" | "write" | "env" | "sys" | "run" | "ffi" | "net" | "import";

/** One `--allow-<kind>[=scope,…]` flag, parsed. */
export interface PermissionFlag {
  /** The kind. */
  kind: PermissionKind;
  /** The scopes, or undefined for the whole kind. */
  scopes?: string[];
}

const KINDS: readonly PermissionKind[] = [
  "read",
  "write",
  "env",
  "sys",
  "run",
  "ffi",
  "net",
  "import",
];

/**
 * Parse `--allow-<kind>[=a,b]` flags; other flags are returned apart, untouched.
 * @example
 * ```ts
 * import { parsePermissionFlags } from "./permissions.ts";
 * const { flags } = parsePermissionFlags(["--allow-env=A,B", "--allow-read"]);
 * if (flags[0]?.scopes?.length !== 2 || flags[1]?.scopes !== undefined) throw new Error();
 * ```
 */
export function parsePermissionFlags(
  args: readonly string[],
): { flags: PermissionFlag[]; other: string[] } {
  const flags: PermissionFlag[] = [];
  const other: string[] = [];
  for (const a of args) {
    const m = /^--allow-([a-z]+)(?:=(.*))?$/.exec(a);
    const kind = m?.[1] as PermissionKind | undefined;
    if (!m || !kind || !KINDS.includes(kind)) {
      other.push(a);
      continue;
    }
    const scopes = m[2] === undefined ? undefined : m[2].split(",").filter(Boolean);
    flags.push(scopes ? { kind, scopes } : { kind });
  }
  return { flags, other };
}

/** The flag text of a parsed permission. */
export function flagText(f: PermissionFlag): string {
  return f.scopes ? `--allow-${f.kind}=${f.scopes.join(",")}` : `--allow-${f.kind}`;
}

function descriptor(kind: PermissionKind, scope?: string): Deno.PermissionDescriptor {
  if (scope === undefined) return { name: kind } as Deno.PermissionDescriptor;
  switch (kind) {
    case "read":
    case "write":
    case "ffi":
      return { name: kind, path: scope };
    case "run":
      return { name: kind, command: scope };
    case "env":
      return { name: kind, variable: scope };
    case "net":
    case "import":
      return { name: kind, host: scope };
    case "sys":
      return { name: kind, kind: scope as Deno.SysPermissionDescriptor["kind"] };
  }
}

/** Whether this process holds a permission (a whole kind, or one scope of it). */
export function holds(kind: PermissionKind, scope?: string): boolean {
  try {
    return Deno.permissions.querySync(descriptor(kind, scope)).state === "granted";
  } catch {
    return false;
  }
}

/**
 * The flags a child may be given: each requested flag narrowed to the scopes this process
 * holds, and what had to be left out (as flag text, for a message).
 * @param requested `--allow-*` flags (other flags pass through unchanged, first).
 * @example
 * ```ts
 * import { narrowPermissions } from "./permissions.ts";
 * const { args, dropped } = narrowPermissions(["--allow-ffi"]);
 * if (args.length + dropped.length !== 1) throw new Error("passed on or dropped");
 * ```
 */
export function narrowPermissions(
  requested: readonly string[],
): { args: string[]; dropped: string[] } {
  const { flags, other } = parsePermissionFlags(requested);
  const args = [...other];
  const dropped: string[] = [];
  for (const f of flags) {
    if (!f.scopes) {
      (holds(f.kind) ? args : dropped).push(flagText(f));
      continue;
    }
    const kept = f.scopes.filter((s) => holds(f.kind, s));
    const lost = f.scopes.filter((s) => !kept.includes(s));
    if (kept.length) args.push(flagText({ kind: f.kind, scopes: kept }));
    if (lost.length) dropped.push(flagText({ kind: f.kind, scopes: lost }));
  }
  return { args, dropped };
}

/**
 * The Deno binary a child should run: this process's own (`Deno.execPath()`) when it may
 * run it, else `deno` from PATH when only that name is allowed (`--allow-run=deno` names
 * the PATH entry, which may be a link to the same binary).
 */
export function denoBinary(): string {
  const own = Deno.execPath();
  if (holds("run", own)) return own;
  return holds("run", "deno") ? "deno" : own;
}
