/**
 * Inject file-system errors into this process for tests: while {@link withFsFault} runs
 * its function, the chosen `Deno` file operations throw the error a full disk (ENOSPC), a
 * read-only file system (EROFS) or a denied access (EACCES) gives, for every path the
 * predicate matches. No real full disk is needed; the code under test sees the same
 * error objects Deno throws (a message ending in the operation and path, and `code`).
 *
 * @module
 */

/** The errors that can be injected, with their OS numbers and messages. */
const ERRORS = {
  ENOSPC: [28, "No space left on device"],
  EROFS: [30, "Read-only file system"],
  EACCES: [13, "Permission denied"],
} as const;

/** A fault: which error, on which operations, for which paths. */
export interface FsFault {
  /** The error code to throw. */
  code: keyof typeof ERRORS;
  /** Whether the operation on `path` fails. */
  when: (path: string) => boolean;
  /** Operations that fail (default: every one patched). */
  ops?: readonly PatchedOp[];
}

/** The operations that can be made to fail. */
export type PatchedOp = "open" | "writeFile" | "writeTextFile" | "mkdir" | "rename" | "copyFile";

/** An error like the one Deno throws for `op` on `path`. */
export function fsError(code: keyof typeof ERRORS, op: string, path: string): Error {
  const [n, text] = ERRORS[code];
  return Object.assign(new Error(`${text} (os error ${n}): ${op} '${path}'`), { code });
}

/** Run `fn` with the fault injected; the operations are restored afterwards. */
export async function withFsFault<T>(fault: FsFault, fn: () => Promise<T>): Promise<T> {
  const d = Deno as unknown as Record<string, (...args: unknown[]) => unknown>;
  const ops: readonly PatchedOp[] = fault.ops ??
    ["open", "writeFile", "writeTextFile", "mkdir", "rename", "copyFile"];
  const saved = new Map(ops.map((op) => [op, d[op]!]));
  const opName: Record<PatchedOp, string> = {
    open: "open",
    writeFile: "writefile",
    writeTextFile: "writefile",
    mkdir: "mkdir",
    rename: "rename",
    copyFile: "copy",
  };
  for (const op of ops) {
    const real = saved.get(op)!;
    d[op] = (...args: unknown[]) => {
      // rename and copyFile write their second argument
      const target = String(args[op === "rename" || op === "copyFile" ? 1 : 0]);
      const opts = args[1] as { write?: boolean; create?: boolean; createNew?: boolean };
      const writes = op !== "open" || !!(opts?.write || opts?.create || opts?.createNew);
      if (writes && fault.when(target)) {
        return Promise.reject(fsError(fault.code, opName[op], target));
      }
      return real.apply(Deno, args);
    };
  }
  try {
    return await fn();
  } finally {
    for (const [op, real] of saved) d[op] = real;
  }
}
