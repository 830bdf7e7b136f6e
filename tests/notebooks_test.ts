/**
 * Tests of the notebook checks (`tools/notebook_check.ts`) on small fixture notebooks
 * shaped like what the Deno kernel writes, and of the pure parts of `tools/notebooks.ts`.
 * Running real notebooks is `deno task notebooks`, not a unit test.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows, assertTrue } from "./assert.ts";
import { ConfigError, FileFormatError } from "../lib/util/errors.ts";
import {
  cellsWithOutputs,
  clearOutputs,
  isCleared,
  type Notebook,
  type NotebookCell,
  notebookErrors,
  parseNotebook,
  PLOTLY_MIME,
  plotlyOutputCount,
  serializeNotebook,
  stripAnsi,
} from "../tools/notebook_check.ts";
import {
  extractFailure,
  failureHint,
  isCi,
  NBCONVERT_CONFIG,
  parseNotebookArgs,
} from "../tools/notebooks.ts";

function code(source: string, outputs: NotebookCell["outputs"] = [], n: number | null = 1) {
  return {
    cell_type: "code",
    execution_count: outputs.length > 0 ? n : null,
    metadata: {},
    outputs,
    source,
  };
}

function notebook(cells: NotebookCell[]): Notebook {
  return {
    cells,
    metadata: {
      kernelspec: { display_name: "Deno", language: "typescript", name: "deno" },
      language_info: { name: "typescript", version: "6.0.3" },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

/** Outputs as an executed Deno-kernel notebook holds them (measured with Deno 2.9.6). */
const plotlyDisplay = {
  output_type: "display_data",
  metadata: {},
  data: {
    [PLOTLY_MIME]: { data: [{ type: "scatter", x: [1, 2], y: [3, 4] }], layout: {} },
    "text/html": ["<b>fig</b>"],
    "text/plain": ["fig"],
  },
};
const stdout = { output_type: "stream", name: "stdout", text: ["step 0\n", "step 1\n"] };
const thrown = {
  output_type: "error",
  ename: "Error",
  evalue: "boom here",
  traceback: ["Error: boom here", "    at <anonymous>:1:28"],
};

function executed(): Notebook {
  const nb = notebook([
    { cell_type: "markdown", id: "intro", metadata: {}, source: "# Title" },
    { ...code("console.log(1)", [stdout]), id: "a" },
    {
      ...code("await show()", [plotlyDisplay]),
      id: "b",
      metadata: {
        tags: ["keep"],
        execution: { "iopub.status.busy": "2026-01-01T00:00:00Z" },
        collapsed: false,
      },
    },
    { ...code("throw new Error('boom here')", [thrown], 3), id: "c" },
  ]);
  nb.metadata.widgets = { state: {} };
  return nb;
}

Deno.test({
  name: "notebookErrors() finds an error output with its cell, message and traceback",
  fn() {
    const problems = notebookErrors(executed());
    assertEquals(problems.length, 1);
    assertEquals(problems[0]!.cell, 3);
    assertEquals(problems[0]!.kind, "error");
    assertEquals(problems[0]!.message, "Error: boom here");
    assertStringIncludes(problems[0]!.detail, "at <anonymous>:1:28");
  },
});

Deno.test({
  name: "notebookErrors() strips ANSI colours and handles a thrown non-Error",
  fn() {
    const nb = notebook([
      code("throw 'x'", [{
        output_type: "error",
        ename: "Error",
        evalue: "\x1b[31ma string\x1b[39m",
        traceback: [""],
      }]),
    ]);
    assertEquals(notebookErrors(nb).map((p) => p.message), ["Error: a string"]);
  },
});

Deno.test({
  name: "notebookErrors() flags error text on stderr but not warnings or stdout",
  fn() {
    const stream = (name: string, text: string | string[]) => ({
      output_type: "stream",
      name,
      text,
    });
    const nb = notebook([
      code("a", [stream("stderr", ["a warning\n", "error: backend not found\n"])]),
      code("b", [stream("stderr", "Uncaught TypeError: x is undefined\n")]),
      code("c", [stream("stderr", "TypeError: caught and logged\n    at f\n")]),
      code("d", [stream("stderr", "tfjs: using the wasm backend\n")]),
      code("e", [stream("stdout", "error: only in stdout\n")]),
    ]);
    const problems = notebookErrors(nb);
    assertEquals(problems.map((p) => [p.cell, p.kind]), [[0, "stderr"], [1, "stderr"], [
      2,
      "stderr",
    ]]);
    assertEquals(problems[0]!.message, "error: backend not found");
    assertEquals(problems[2]!.message, "TypeError: caught and logged");
  },
});

Deno.test({
  name: "notebookErrors() returns nothing for a clean notebook",
  fn() {
    const nb = executed();
    nb.cells.pop();
    assertEquals(notebookErrors(nb), []);
  },
});

Deno.test({
  name: "plotlyOutputCount() counts display data and execute results with the plotly MIME",
  fn() {
    assertEquals(plotlyOutputCount(executed()), 1);
    const result = { ...plotlyDisplay, output_type: "execute_result", execution_count: 2 };
    const html = { output_type: "display_data", metadata: {}, data: { "text/html": "<p>" } };
    const nb = notebook([code("a", [plotlyDisplay, html]), code("b", [result, stdout])]);
    assertEquals(plotlyOutputCount(nb), 2);
    assertEquals(plotlyOutputCount(notebook([code("c")])), 0);
  },
});

Deno.test({
  name: "clearOutputs() empties outputs and counts and strips run metadata only",
  fn() {
    const nb = executed();
    const before = JSON.stringify(nb);
    const cleared = clearOutputs(nb);
    assertEquals(JSON.stringify(nb), before, "input must not be modified");
    for (const cell of cleared.cells.filter((c) => c.cell_type === "code")) {
      assertEquals(cell.outputs, []);
      assertEquals(cell.execution_count, null);
    }
    assertEquals(cleared.cells[2]!.metadata, { tags: ["keep"] });
    assertEquals(cleared.metadata.widgets, undefined);
    assertEquals(cleared.metadata.language_info, { name: "typescript" });
    assertEquals(cleared.metadata.kernelspec, nb.metadata.kernelspec);
    assertEquals(cleared.cells.map((c) => c.source), nb.cells.map((c) => c.source));
    assertEquals(cleared.cells[0], nb.cells[0], "markdown cells are kept as they are");
    assertEquals(notebookErrors(cleared), []);
    assertEquals(plotlyOutputCount(cleared), 0);
  },
});

Deno.test({
  name: "clearOutputs() gives cells without an id a unique stable one and raises the format",
  fn() {
    const nb = notebook([
      { ...code("a"), id: "cell-1" },
      code("b"),
      { cell_type: "markdown", metadata: {}, source: ["# x\n", "y"] },
    ]);
    nb.nbformat_minor = 4;
    const cleared = clearOutputs(nb);
    assertEquals(cleared.cells.map((c) => c.id), ["cell-1", "cell-1-1", "cell-2"]);
    assertEquals(cleared.nbformat_minor, 5);
    assertEquals(cleared.cells[2]!.source, ["# x\n", "y"]);
    assertEquals(clearOutputs(cleared), cleared, "clearing is idempotent");
  },
});

Deno.test({
  name: "cellsWithOutputs() and isCleared() tell a committed notebook from an executed one",
  fn() {
    const nb = executed();
    assertEquals(cellsWithOutputs(nb), [1, 2, 3]);
    assertEquals(isCleared(nb), false);
    const cleared = clearOutputs(nb);
    assertEquals(cellsWithOutputs(cleared), []);
    assertTrue(isCleared(cleared));
    const runOnly = structuredClone(cleared);
    runOnly.metadata.language_info = { name: "typescript", version: "6.0.3" };
    assertEquals(cellsWithOutputs(runOnly), []);
    assertEquals(isCleared(runOnly), false);
  },
});

Deno.test({
  name: "serializeNotebook() writes sorted keys, one-space indent and a final newline",
  fn() {
    const text = serializeNotebook(clearOutputs(executed()));
    assert(text.startsWith('{\n "cells": [\n  {\n   "cell_type": "markdown",\n'), text);
    assert(text.endsWith("}\n"));
    const keys = Object.keys(JSON.parse(text));
    assertEquals(keys, ["cells", "metadata", "nbformat", "nbformat_minor"]);
    assertEquals(parseNotebook(text), JSON.parse(text));
  },
});

Deno.test({
  name: "parseNotebook() rejects non-JSON and non-notebooks with the file name",
  fn() {
    assertThrows(() => parseNotebook("{", "a.ipynb"), FileFormatError, "a.ipynb is not valid JSON");
    assertThrows(() => parseNotebook("[]", "b.ipynb"), FileFormatError, "top level");
    assertThrows(
      () => parseNotebook('{"nbformat": 3, "cells": []}', "c.ipynb"),
      FileFormatError,
      "c.ipynb has nbformat 3",
    );
    assertThrows(
      () => parseNotebook('{"nbformat": 4, "cells": [{"source": ""}]}', "d.ipynb"),
      FileFormatError,
      'cell 0 has no "cell_type"',
    );
    const nb = parseNotebook('{"nbformat": 4, "cells": []}');
    assertEquals(nb.metadata, {});
  },
});

Deno.test({
  name: "stripAnsi() removes colour codes the kernel puts in values",
  fn() {
    assertEquals(stripAnsi("\x1b[33m0.57\x1b[39m"), "0.57");
  },
});

/** The end of nbconvert's stderr when a cell throws (Deno 2.9.6, nbconvert 6.5.3). */
const NBCONVERT_STDERR = `[NbConvertApp] Converting notebook notebooks/x.ipynb to notebook
\x1b[0m\x1b[33mWarning\x1b[0m "deno jupyter" is unstable and might change in the future.
  cell 1 (code cell 1/2) FAILED in 0.0s
Traceback (most recent call last):
  File "/usr/bin/jupyter-nbconvert", line 33, in <module>
    sys.exit(load_entry_point('nbconvert==6.5.3', 'console_scripts', 'jupyter-nbconvert')())
  File "/usr/lib/python3/dist-packages/nbclient/client.py", line 915, in _check_raise_for_error
    raise CellExecutionError.from_cell_and_msg(cell, exec_reply_content)
nbclient.exceptions.CellExecutionError: An error occurred while executing the following cell:
------------------
throw new Error("boom here");
------------------

Error: boom here
    at <anonymous>:1:28
Error: boom here

`;

Deno.test({
  name: "extractFailure() keeps nbclient's exception and the cell, not the Python stack",
  fn() {
    const lines = extractFailure(NBCONVERT_STDERR.split("\n"));
    assertEquals(
      lines[0],
      "nbclient.exceptions.CellExecutionError: " +
        "An error occurred while executing the following cell:",
    );
    assertTrue(lines.includes('throw new Error("boom here");'));
    assertEquals(lines.at(-1), "Error: boom here");
    assertEquals(lines.filter((l) => l.includes("File ")).length, 0);
    const noTraceback = extractFailure(["[NbConvertApp] Converting x", "jupyter: not found"]);
    assertEquals(noTraceback, ["jupyter: not found"]);
    const long = extractFailure(Array.from({ length: 100 }, (_, i) => `line ${i}`), 5);
    assertEquals(long.length, 6);
  },
});

Deno.test({
  name: "failureHint() explains timeouts, dead kernels and bare syntax errors",
  fn() {
    assertStringIncludes(
      failureHint("nbclient.exceptions.CellTimeoutError: A cell timed out", { timeout: 60 }),
      "--timeout 60s",
    );
    assertStringIncludes(failureHint("DeadKernelError: Kernel died", { timeout: 1 }), "died");
    assertStringIncludes(
      failureHint("------------------\n\n\nError: Execution failed\n", { timeout: 1 }),
      "syntax",
    );
    assertEquals(failureHint("Error: boom", { timeout: 1 }), "");
  },
});

Deno.test({
  name: "parseNotebookArgs() reads options, requires on CI, and names bad values",
  fn() {
    const noCi = () => undefined;
    const ci = (name: string) => (name === "CI" ? "true" : undefined);
    const o = parseNotebookArgs(["--timeout", "60", "--out=tmp/nb", "a.ipynb"], noCi);
    assertEquals(o.timeout, 60);
    assertTrue(o.out.endsWith("tmp/nb"));
    assertEquals(o.notebooks.length, 1);
    assertEquals(o.require, false);
    assertEquals(parseNotebookArgs(["--require-on-ci"], noCi).require, false);
    assertEquals(parseNotebookArgs(["--require-on-ci"], ci).require, true);
    assertEquals(parseNotebookArgs([], ci).require, true);
    assertEquals(parseNotebookArgs(["--require"], noCi).require, true);
    assertThrows(() => parseNotebookArgs(["--timeout", "0"], noCi), ConfigError, 'got "0"');
    assertThrows(() => parseNotebookArgs(["--timeout"], noCi), ConfigError, "needs a value");
    assertThrows(() => parseNotebookArgs(["--bogus"], noCi), ConfigError, '"--bogus"');
    assertThrows(() => parseNotebookArgs(["x.ts"], noCi), ConfigError, "expected a .ipynb");
    assertEquals([isCi("true"), isCi("1"), isCi("false"), isCi(""), isCi(undefined)], [
      true,
      true,
      false,
      false,
      false,
    ]);
  },
});

Deno.test({
  name: "the nbconvert config registers the late-output preprocessor",
  fn() {
    assertStringIncludes(NBCONVERT_CONFIG, "class KitExecutePreprocessor(ExecutePreprocessor)");
    assertStringIncludes(NBCONVERT_CONFIG, "c.NotebookExporter.preprocessors");
    assertEquals(NBCONVERT_CONFIG.includes("\t"), false, "Python indentation must be spaces");
  },
});
