/**
 * Checks over Jupyter notebooks (nbformat 4 JSON): find the errors in an executed copy,
 * count its plotly figures, and clear outputs before a notebook is committed.
 *
 * Everything here is a pure function of the parsed JSON; `tools/notebooks.ts` and
 * `tools/clear_notebooks.ts` do the file and process work.
 *
 * What the Deno kernel (`deno jupyter`, Deno 2.9) puts in a notebook, as measured:
 * - an exception thrown (or an awaited rejection) in a cell becomes an `error` output
 *   `{ename, evalue, traceback}`, e.g. `Error` / `boom` / `["Error: boom", "    at <anonymous>:1:7"]`;
 * - a syntax error in a cell produces no output at all: only the execute reply says
 *   `Execution failed` (headless runs fail on it; `tools/notebooks.ts` records it as an
 *   `error` output when run with `--allow-errors`);
 * - an unhandled promise rejection that is not awaited is silently dropped;
 * - `console.log`/`info`/`debug` become `stdout` streams, `console.warn`/`error` `stderr`
 *   streams; `Deno.stdout`/`Deno.stderr` writes never reach the notebook;
 * - `Deno.jupyter.display(bundle, { raw: true })` becomes a `display_data` output whose
 *   `data` is the bundle as given (objects stay objects, strings become lists of lines).
 *
 * @example
 * ```ts
 * import { clearOutputs, notebookErrors, plotlyOutputCount } from "./notebook_check.ts";
 * const nb = {
 *   nbformat: 4,
 *   nbformat_minor: 5,
 *   metadata: {},
 *   cells: [{
 *     cell_type: "code",
 *     id: "a",
 *     execution_count: 1,
 *     metadata: {},
 *     source: "throw new Error('boom')",
 *     outputs: [{ output_type: "error", ename: "Error", evalue: "boom", traceback: [] }],
 *   }],
 * };
 * if (notebookErrors(nb).length !== 1) throw new Error("error not found");
 * if (plotlyOutputCount(nb) !== 0) throw new Error("no figures expected");
 * if (clearOutputs(nb).cells[0]!.outputs!.length !== 0) throw new Error("not cleared");
 * ```
 *
 * @module
 */
import { FileFormatError } from "../lib/util/errors.ts";

/** The MIME type plotly figures are displayed under (`{data, layout}` JSON). */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** Multiline text as nbformat stores it: one string, or a list of lines. */
export type MultilineText = string | string[];

/** One output of a code cell (the fields the checks use; others are kept as they are). */
export interface NotebookOutput {
  /** `stream`, `display_data`, `execute_result`, `error` or `update_display_data`. */
  output_type: string;
  /** Stream name (`stdout` or `stderr`) of a `stream` output. */
  name?: string;
  /** Text of a `stream` output. */
  text?: MultilineText;
  /** MIME type → data of a `display_data` or `execute_result` output. */
  data?: Record<string, unknown>;
  /** Error class name of an `error` output, e.g. `TypeError`. */
  ename?: string;
  /** Error message of an `error` output. */
  evalue?: string;
  /** Stack trace lines of an `error` output (may hold ANSI colour codes). */
  traceback?: string[];
  /** Other nbformat fields (`metadata`, `execution_count`, ...). */
  [key: string]: unknown;
}

/** One cell of a notebook. */
export interface NotebookCell {
  /** `code`, `markdown` or `raw`. */
  cell_type: string;
  /** Cell id (required from nbformat 4.5). */
  id?: string;
  /** The cell's text. */
  source: MultilineText;
  /** Cell metadata (tags, editor state, execution timings). */
  metadata?: Record<string, unknown>;
  /** Code cells: the outputs of the last execution. */
  outputs?: NotebookOutput[];
  /** Code cells: the execution counter, null when not run. */
  execution_count?: number | null;
  /** Other nbformat fields (`attachments`, ...). */
  [key: string]: unknown;
}

/** A notebook, nbformat 4. */
export interface Notebook {
  /** Major format version; must be 4. */
  nbformat: number;
  /** Minor format version; cell ids exist from 5 on. */
  nbformat_minor: number;
  /** Notebook metadata (`kernelspec`, `language_info`, ...). */
  metadata: Record<string, unknown>;
  /** The cells, in order. */
  cells: NotebookCell[];
}

/** A problem found in an executed notebook. */
export interface NotebookProblem {
  /** Index of the cell (0-based) in `nb.cells`. */
  cell: number;
  /** `error`: an error output; `stderr`: error text printed to stderr. */
  kind: "error" | "stderr";
  /** One-line description, e.g. `TypeError: x is undefined`. */
  message: string;
  /** The traceback or stderr text, ANSI codes removed. */
  detail: string;
}

/**
 * Parse and shape-check notebook JSON text.
 * @param text the file content.
 * @param path file name used in error messages.
 * @returns the notebook (the parsed object itself, typed).
 * @throws FileFormatError when the text is not JSON or not an nbformat 4 notebook.
 */
export function parseNotebook(text: string, path = "notebook"): Notebook {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new FileFormatError(
      `${path} is not valid JSON (${(e as Error).message}); open it in Jupyter or restore it ` +
        `from git`,
    );
  }
  const nb = value as Partial<Notebook> | null;
  if (nb === null || typeof nb !== "object" || Array.isArray(nb)) {
    throw new FileFormatError(`${path} is not a notebook: the top level must be a JSON object`);
  }
  if (nb.nbformat !== 4) {
    throw new FileFormatError(
      `${path} has nbformat ${JSON.stringify(nb.nbformat)}; only nbformat 4 is supported ` +
        `(convert it with \`jupyter nbconvert --to notebook\`)`,
    );
  }
  if (!Array.isArray(nb.cells)) {
    throw new FileFormatError(`${path} is not a notebook: "cells" must be an array`);
  }
  nb.cells.forEach((cell, i) => {
    if (cell === null || typeof cell !== "object" || typeof cell.cell_type !== "string") {
      throw new FileFormatError(`${path}: cell ${i} has no "cell_type"`);
    }
    if (cell.outputs !== undefined && !Array.isArray(cell.outputs)) {
      throw new FileFormatError(`${path}: cell ${i} has "outputs" that is not an array`);
    }
  });
  if (nb.metadata === undefined) nb.metadata = {};
  if (typeof nb.nbformat_minor !== "number") nb.nbformat_minor = 0;
  return nb as Notebook;
}

/**
 * Render a notebook as Jupyter writes it: keys sorted, one-space indent, final newline.
 * Saving through here and through JupyterLab gives the same bytes, so diffs stay small.
 */
export function serializeNotebook(nb: Notebook): string {
  return JSON.stringify(sortKeys(nb), null, 1) + "\n";
}

/** Join nbformat multiline text. */
export function joinText(text: MultilineText | undefined): string {
  if (text === undefined) return "";
  return Array.isArray(text) ? text.join("") : text;
}

/** Remove ANSI escape sequences (the kernel colours tracebacks and values). */
export function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "");
}

/** A stderr line that reports an error: `error: ...`, `TypeError: ...`, `Uncaught ...`. */
const STDERR_ERROR = /error:|^\s*uncaught\b/im;

/**
 * Every error in an executed notebook, in cell order: each `error` output, and each
 * `stderr` stream whose text contains `error:` (any case, so `Error:`/`TypeError:` from a
 * logged exception too) or a line starting with `Uncaught`.
 *
 * Stream output from the Deno kernel can arrive after the cell is reported finished and
 * be lost by a plain `nbconvert --execute` (see `tools/notebooks.ts`), so the stderr half
 * of this check is best effort; `error` outputs are always recorded.
 */
export function notebookErrors(nb: Notebook): NotebookProblem[] {
  const problems: NotebookProblem[] = [];
  nb.cells.forEach((cell, i) => {
    for (const out of cell.outputs ?? []) {
      if (out.output_type === "error") {
        const ename = out.ename ?? "Error";
        const evalue = stripAnsi(out.evalue ?? "");
        problems.push({
          cell: i,
          kind: "error",
          message: evalue ? `${ename}: ${evalue}` : ename,
          detail: stripAnsi((out.traceback ?? []).join("\n")),
        });
      } else if (out.output_type === "stream" && out.name === "stderr") {
        const text = stripAnsi(joinText(out.text));
        if (STDERR_ERROR.test(text)) {
          const line = text.split("\n").find((l) => STDERR_ERROR.test(l)) ?? text;
          problems.push({ cell: i, kind: "stderr", message: line.trim(), detail: text });
        }
      }
    }
  });
  return problems;
}

/** Number of outputs (display data or execute results) that carry a plotly figure. */
export function plotlyOutputCount(nb: Notebook): number {
  let n = 0;
  for (const cell of nb.cells) {
    for (const out of cell.outputs ?? []) {
      if (out.data !== undefined && PLOTLY_MIME in out.data) n++;
    }
  }
  return n;
}

/**
 * Cell metadata keys that record a run or editor state rather than content:
 * nbclient timings, the ExecuteTime extension, collapse/scroll state, VS Code's notes.
 */
export const CELL_METADATA_NOISE: readonly string[] = [
  "execution",
  "ExecuteTime",
  "collapsed",
  "scrolled",
  "jupyter",
  "vscode",
];

/** Notebook metadata keys that record a session rather than content. */
export const NOTEBOOK_METADATA_NOISE: readonly string[] = ["widgets", "vscode"];

/**
 * A copy of `nb` as it should be committed: code cells have no outputs and a null
 * execution count; run and editor metadata ({@link CELL_METADATA_NOISE},
 * {@link NOTEBOOK_METADATA_NOISE}, the kernel's `language_info.version`) is removed;
 * cells without an id get a stable one (`cell-<index>`) and the format is raised to 4.5,
 * so nbformat stops warning. Sources are kept exactly (string or list of lines).
 * `nb` itself is not modified.
 */
export function clearOutputs(nb: Notebook): Notebook {
  const out = structuredClone(nb);
  for (const key of NOTEBOOK_METADATA_NOISE) delete out.metadata[key];
  const info = out.metadata.language_info;
  if (info !== null && typeof info === "object" && !Array.isArray(info)) {
    delete (info as Record<string, unknown>).version;
  }
  const ids = new Set(out.cells.map((c) => c.id).filter((id) => typeof id === "string"));
  out.cells.forEach((cell, i) => {
    if (cell.cell_type === "code") {
      cell.outputs = [];
      cell.execution_count = null;
    }
    if (cell.metadata !== undefined) {
      for (const key of CELL_METADATA_NOISE) delete cell.metadata[key];
    } else {
      cell.metadata = {};
    }
    if (typeof cell.id !== "string") {
      let id = `cell-${i}`;
      for (let k = 1; ids.has(id); k++) id = `cell-${i}-${k}`;
      ids.add(id);
      cell.id = id;
    }
  });
  if (out.nbformat_minor < 5) out.nbformat_minor = 5;
  return out;
}

/**
 * Indices (0-based) of the code cells that hold outputs or an execution count: what
 * `tools/clear_notebooks.ts --check` rejects in a committed notebook.
 */
export function cellsWithOutputs(nb: Notebook): number[] {
  return nb.cells.flatMap((c, i) =>
    c.cell_type === "code" && ((c.outputs ?? []).length > 0 || c.execution_count != null) ? [i] : []
  );
}

/**
 * True when {@link clearOutputs} would change nothing (outputs, counts, run metadata, ids,
 * format version); key order and indentation are ignored.
 */
export function isCleared(nb: Notebook): boolean {
  return canonical(clearOutputs(nb)) === canonical(nb);
}

function canonical(nb: Notebook): string {
  return JSON.stringify(sortKeys(nb));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(obj).sort().map((k) => [k, sortKeys(obj[k])]),
    );
  }
  return value;
}
