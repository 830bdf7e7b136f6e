/**
 * Command-line entry points share this: parse `--key value` overrides against an
 * experiment's schema, and turn user mistakes (KitError) and what the machine refuses (a
 * full disk, a read-only file system, a denied path: ResourceError) into one line on
 * stderr and exit code 2, never a stack trace.
 *
 * @module
 */
import { KitError, resourceError } from "../lib/util/errors.ts";

/**
 * Run `main`; a KitError, a resource error (ENOSPC, EROFS, EACCES, EEXIST, …, naming the
 * path) or a missing permission prints `error: <message>` and exits 2; anything else is a
 * bug.
 */
export async function runCli(main: () => Promise<number | void>): Promise<never> {
  try {
    const code = await main();
    Deno.exit(code ?? 0);
  } catch (caught) {
    const e = resourceError(caught) ?? caught;
    if (e instanceof KitError) {
      console.error(`error: ${e.message}`);
      Deno.exit(2);
    }
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      console.error(`error: ${(e as Error).message}`);
      Deno.exit(2);
    }
    throw e;
  }
}
