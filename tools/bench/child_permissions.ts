/**
 * Permission flags for a child `deno run`, limited to what this process holds.
 *
 * A process with `--allow-run` may start `deno run -A`, so nothing but this process's own
 * discipline stops a child from holding more than the task that started it. Each flag a
 * child asks for is checked against this process's grants
 * (`Deno.permissions.querySync`) with the same scope (every path, command or variable it
 * names); a flag this process lacks is left out and reported, never passed on.
 *
 * @example
 * ```ts
 * import { childPermissions } from "./child_permissions.ts";
 * const { flags, missing } = childPermissions([{ name: "ffi", paths: ["/nowhere/x.node"] }]);
 * if (flags.length + missing.length !== 1) throw new Error("one flag, passed on or not");
 * ```
 *
 * @module
 */

/** Permission kinds a child can ask for. */
export type PermissionName = "read" | "write" | "env" | "sys" | "run" | "ffi" | "net";

/** One requested permission: the whole kind, or only the listed scopes. */
export interface PermissionRequest {
  /** The permission kind. */
  name: PermissionName;
  /** Paths (read, write, ffi), commands (run), variables (env), hosts (net) or sys kinds. */
  paths?: readonly string[];
}

/** The descriptor `Deno.permissions.querySync` takes for one scope of a request. */
function descriptor(name: PermissionName, scope?: string): Deno.PermissionDescriptor {
  if (scope === undefined) return { name } as Deno.PermissionDescriptor;
  switch (name) {
    case "read":
    case "write":
    case "ffi":
      return { name, path: scope };
    case "run":
      return { name, command: scope };
    case "env":
      return { name, variable: scope };
    case "net":
      return { name, host: scope };
    case "sys":
      return { name, kind: scope as Deno.SysPermissionDescriptor["kind"] };
  }
}

/** The `--allow-*` flag of a request. */
export function flagOf(r: PermissionRequest): string {
  return r.paths?.length ? `--allow-${r.name}=${r.paths.join(",")}` : `--allow-${r.name}`;
}

/**
 * The flags of `requests` that this process holds (every scope granted), and those it
 * does not (as flags, for a message).
 */
export function childPermissions(
  requests: readonly PermissionRequest[],
): { flags: string[]; missing: string[] } {
  const flags: string[] = [], missing: string[] = [];
  for (const r of requests) {
    const scopes = r.paths?.length ? r.paths : [undefined];
    const held = scopes.every((s) =>
      Deno.permissions.querySync(descriptor(r.name, s)).state === "granted"
    );
    (held ? flags : missing).push(flagOf(r));
  }
  return { flags, missing };
}
