/**
 * Command-line entry points share this: parse `--key value` overrides against an
 * experiment's schema, and turn user mistakes (KitError) into one line on stderr and
 * exit code 2, never a stack trace.
 *
 * @module
 */
import { KitError } from "../lib/util/errors.ts";

/** Run `main`; a KitError prints `error: <message>` and exits 2; anything else is a bug. */
export async function runCli(main: () => Promise<number | void>): Promise<never> {
  try {
    const code = await main();
    Deno.exit(code ?? 0);
  } catch (e) {
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
