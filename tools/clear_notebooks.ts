/**
 * `deno task notebooks:clear [--check] [notebook.ipynb ...]`
 *
 * Clears the outputs of `notebooks/*.ipynb` in place (execution counts, outputs, run
 * metadata; see `clearOutputs` in `tools/notebook_check.ts`), so committed notebooks
 * carry code and prose only; executed copies live in `results/notebooks/`. A notebook
 * that is already clear is not rewritten.
 *
 * `--check` changes nothing and exits 1 when a notebook still has outputs or execution
 * counts, naming the notebooks, cells and the command that clears them (run metadata such
 * as `language_info.version` is cleared but does not fail the check). Run it in CI before the notebooks run.
 *
 * @module
 */
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "../experiments/cli.ts";
import { writeTextAtomic } from "../lib/util/atomic_write.ts";
import { ConfigError } from "../lib/util/errors.ts";
import {
  cellsWithOutputs,
  clearOutputs,
  isCleared,
  parseNotebook,
  serializeNotebook,
} from "./notebook_check.ts";

/** Repository root (this file is `tools/clear_notebooks.ts`). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const USAGE = `usage: deno task notebooks:clear [--check] [notebook.ipynb ...]

Clears outputs and execution counts of notebooks (default: every notebooks/*.ipynb).
  --check     change nothing; exit 1 if any notebook has outputs
  -h, --help  this text`;

/** Every `*.ipynb` directly in `dir`, sorted. */
async function notebooksIn(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".ipynb")) found.push(join(dir, e.name));
  }
  return found.sort();
}

/** Clear (or check) the notebooks; returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let check = false;
  const paths: string[] = [];
  for (const arg of args) {
    if (arg === "--check") check = true;
    else if (arg === "-h" || arg === "--help") {
      console.log(USAGE);
      return 0;
    } else if (arg.startsWith("-")) throw new ConfigError(`unknown option "${arg}"; see --help`);
    else if (!arg.endsWith(".ipynb")) {
      throw new ConfigError(`"${arg}" is not a notebook: expected a .ipynb file`);
    } else paths.push(resolve(arg));
  }
  const notebooks = paths.length > 0 ? paths : await notebooksIn(join(ROOT, "notebooks"));
  const dirty: string[] = [];
  let cleared = 0;
  for (const path of notebooks) {
    const name = relative(ROOT, path).startsWith("..") ? path : relative(ROOT, path);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new ConfigError(`notebook ${name} does not exist`);
      }
      throw e;
    }
    const nb = parseNotebook(text, name);
    const withOutputs = cellsWithOutputs(nb);
    if (check) {
      if (withOutputs.length > 0) {
        dirty.push(
          `${name}: ${withOutputs.length} cell(s) have outputs or execution counts ` +
            `(cells ${withOutputs.map((i) => i + 1).join(", ")})`,
        );
      }
    } else if (!isCleared(nb)) {
      await writeTextAtomic(path, serializeNotebook(clearOutputs(nb)));
      const what = withOutputs.length > 0
        ? `outputs of ${withOutputs.length} cell(s)`
        : "run metadata only";
      console.log(`cleared ${name} (${what})`);
      cleared++;
    }
  }
  if (check) {
    if (dirty.length > 0) {
      console.error(
        `error: ${dirty.length} notebook(s) are not cleared:\n  ${dirty.join("\n  ")}\n` +
          "commit notebooks without outputs: run `deno task notebooks:clear`",
      );
      return 1;
    }
    console.log(`notebooks: ${notebooks.length} checked, all without outputs`);
    return 0;
  }
  console.log(`notebooks: ${cleared} cleared, ${notebooks.length - cleared} already clear`);
  return 0;
}

if (import.meta.main) await runCli(() => main(Deno.args));
