/**
 * `deno task notebooks [--out DIR] [--timeout SECS] [--require] [notebooks...]`
 *
 * Runs every `notebooks/*.ipynb` (sorted) headless on the Deno Jupyter kernel, one at a
 * time, writes the executed copies to `results/notebooks/`, and checks each copy: no
 * error outputs, no error text on stderr, at least one plotly figure. Exits 1 with a
 * summary when any notebook fails.
 *
 * Execution is `jupyter nbconvert --to notebook` with a small nbconvert config (written to
 * a temp dir) whose preprocessor is nbconvert's `ExecutePreprocessor` plus three things
 * the Deno kernel needs:
 * - it keeps outputs that arrive after the kernel reported the cell idle. `deno jupyter`
 *   (2.9) sends console output and `Deno.jupyter.display` messages through a channel that
 *   can flush after the `idle` status; plain `nbconvert --execute` then drops them
 *   (measured: a cell's last stream lost in ~50% of cells, a 5 MB figure in ~15%);
 * - it turns a failed cell without an error output (the kernel reports a syntax error as
 *   a bare `Execution failed`) into an error output, so `--allow-errors` runs show it;
 * - it prints one progress line per code cell.
 * `--plain` runs stock `nbconvert --execute` instead.
 *
 * Without jupyter or the Deno kernel the run is skipped (exit 0, a `SKIPPED notebooks:`
 * line) unless `--require` is given or `CI` is set, which make it fail. A missing Deno
 * kernelspec is installed with `deno jupyter --install`.
 *
 * @module
 */
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "../experiments/cli.ts";
import { writeTextAtomic } from "../lib/util/atomic_write.ts";
import { ConfigError } from "../lib/util/errors.ts";
import {
  notebookErrors,
  type NotebookProblem,
  parseNotebook,
  plotlyOutputCount,
  stripAnsi,
} from "./notebook_check.ts";

/** Repository root (this file is `tools/notebooks.ts`). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** What to install when jupyter is missing. */
export const INSTALL_HINT =
  "install Jupyter with `apt-get install jupyter-nbconvert jupyter-client` " +
  "(or `pip install nbconvert jupyter_client`), then the Deno kernel with `deno jupyter --install`";

const USAGE = `usage: deno task notebooks [options] [notebook.ipynb ...]

Executes notebooks on the Deno Jupyter kernel (default: every notebooks/*.ipynb, sorted)
and checks the executed copies: no errors, at least one plotly figure.

options:
  --out DIR          where executed copies go (default results/notebooks)
  --timeout SECS     per-cell execution limit (default 900)
  --grace SECS       how long to wait for late kernel output after each cell (default 0.3)
  --kernel NAME      Jupyter kernel name (default deno)
  --allow-errors     run every cell even after an error (the copy then shows all errors)
  --plain            stock \`nbconvert --execute\` (no late-output fix, no cell progress)
  --require          fail when jupyter or the Deno kernel is missing
  --require-on-ci    fail when they are missing and CI is set (the default)
  -h, --help         this text`;

/** Options of a run, from the command line. */
export interface NotebookRunOptions {
  /** Notebooks to run; empty means every `notebooks/*.ipynb`. */
  notebooks: string[];
  /** Output folder for the executed copies. */
  out: string;
  /** Per-cell timeout in seconds (nbconvert's `ExecutePreprocessor.timeout`). */
  timeout: number;
  /** Seconds of kernel silence to wait for late outputs after each cell. */
  grace: number;
  /** Jupyter kernel name. */
  kernel: string;
  /** Keep executing after a cell fails. */
  allowErrors: boolean;
  /** Use stock `nbconvert --execute`. */
  plain: boolean;
  /** Fail (instead of skipping) when jupyter or the kernel is missing. */
  require: boolean;
  /** Print usage and exit. */
  help: boolean;
}

/**
 * Parse the command line.
 * @param args `Deno.args`.
 * @param env environment lookup (for `CI`).
 * @throws ConfigError on an unknown flag or a bad value.
 */
export function parseNotebookArgs(
  args: readonly string[],
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): NotebookRunOptions {
  const opts: NotebookRunOptions = {
    notebooks: [],
    out: join(ROOT, "results", "notebooks"),
    timeout: 900,
    grace: 0.3,
    kernel: "deno",
    allowErrors: false,
    plain: false,
    require: isCi(env("CI")),
    help: false,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined || v === "") {
        throw new ConfigError(`${flag} needs a value; see --help`);
      }
      return v;
    };
    const seconds = (min: number): number => {
      const raw = value();
      const v = Number(raw);
      if (!Number.isFinite(v) || v < min) {
        throw new ConfigError(`${flag} must be a number of seconds >= ${min}, got "${raw}"`);
      }
      return v;
    };
    switch (flag) {
      case "--out":
        opts.out = resolve(value());
        break;
      case "--timeout":
        opts.timeout = seconds(1);
        break;
      case "--grace":
        opts.grace = seconds(0);
        break;
      case "--kernel":
        opts.kernel = value();
        break;
      case "--allow-errors":
        opts.allowErrors = true;
        break;
      case "--plain":
        opts.plain = true;
        break;
      case "--require":
        opts.require = true;
        break;
      case "--require-on-ci":
        opts.require = opts.require || isCi(env("CI"));
        break;
      case "-h":
      case "--help":
        opts.help = true;
        break;
      default:
        if (arg.startsWith("-")) {
          throw new ConfigError(`unknown option "${arg}"; see --help`);
        }
        if (!arg.endsWith(".ipynb")) {
          throw new ConfigError(`"${arg}" is not a notebook: expected a .ipynb file`);
        }
        opts.notebooks.push(resolve(arg));
    }
  }
  return opts;
}

/** True when a `CI` variable value means "running on CI" (set, and not `false`/`0`). */
export function isCi(value: string | undefined): boolean {
  return value !== undefined && value !== "" && value !== "false" && value !== "0";
}

/** Result of a command run to completion. */
interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command; undefined when the program does not exist. */
async function capture(cmd: string, args: string[]): Promise<Captured | undefined> {
  try {
    const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** The kernelspec `jupyter kernelspec list --json` reports for `name`, if any. */
async function findKernel(name: string): Promise<{ argv: string[]; dir: string } | undefined> {
  const r = await capture("jupyter", ["kernelspec", "list", "--json"]);
  if (r === undefined || r.code !== 0) return undefined;
  try {
    const specs = JSON.parse(r.stdout).kernelspecs as Record<
      string,
      { resource_dir: string; spec: { argv: string[] } }
    >;
    const k = specs[name];
    return k ? { argv: k.spec.argv, dir: k.resource_dir } : undefined;
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Make sure nbconvert and the kernel are there, installing the Deno kernelspec if needed.
 * @returns undefined when ready, else why not (for the SKIPPED/error line).
 */
async function preflight(kernel: string): Promise<string | undefined> {
  const nbc = await capture("jupyter", ["nbconvert", "--version"]);
  if (nbc === undefined) return `jupyter is not installed (not on PATH); ${INSTALL_HINT}`;
  if (nbc.code !== 0) {
    return `jupyter is installed but \`jupyter nbconvert\` is not; ${INSTALL_HINT}`;
  }
  let spec = await findKernel(kernel);
  const stale = spec !== undefined && spec.argv[0] !== undefined && !(await exists(spec.argv[0]));
  if (spec === undefined || stale) {
    if (kernel !== "deno") {
      return `Jupyter kernel "${kernel}" is not installed; install it with ` +
        `\`deno jupyter --install --name ${kernel}\``;
    }
    console.log(
      stale
        ? `the Deno kernelspec points at a missing ${spec!.argv[0]}; reinstalling it`
        : "the Deno Jupyter kernel is not installed; running `deno jupyter --install`",
    );
    const inst = await capture(Deno.execPath(), ["jupyter", "--install", "--force"]);
    spec = await findKernel(kernel);
    if (inst === undefined || inst.code !== 0 || spec === undefined) {
      return "could not install the Deno Jupyter kernel with `deno jupyter --install`" +
        (inst ? `: ${inst.stderr.trim().split("\n").at(-1)}` : "");
    }
  }
  console.log(
    `jupyter nbconvert ${nbc.stdout.trim()}, kernel "${kernel}": ${spec.argv.join(" ")}`,
  );
  return undefined;
}

/**
 * Every `*.ipynb` directly in `dir`, sorted. Subfolders (an output folder inside
 * `notebooks/`, `.ipynb_checkpoints/`) are not searched.
 */
export async function listNotebooks(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".ipynb")) found.push(join(dir, e.name));
  }
  return found.sort();
}

/**
 * The nbconvert config file: an `ExecutePreprocessor` that keeps outputs the Deno kernel
 * sends after `idle`, records bare failed replies as errors, and prints cell progress.
 */
export const NBCONVERT_CONFIG =
  `# Written by tools/notebooks.ts; used as \`jupyter nbconvert --config <this file>\`.
import sys
import time
from queue import Empty

from nbclient.exceptions import CellExecutionComplete
from nbclient.util import ensure_async
from nbformat.v4 import new_output
from nbconvert.preprocessors import ExecutePreprocessor
from traitlets import Bool, Float


class KitExecutePreprocessor(ExecutePreprocessor):
    """ExecutePreprocessor that keeps outputs the kernel sends after reporting idle."""

    enabled = Bool(True).tag(config=True)
    late_output_grace = Float(0.3).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._kit_total = sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip())
        self._kit_done = 0
        self._kit_t0 = time.monotonic()
        self.on_cell_execute = self._kit_on_execute
        self.on_cell_executed = self._kit_on_executed
        return super().preprocess(nb, resources, km)

    def _kit_on_execute(self, cell, cell_index, **_):
        self._kit_t0 = time.monotonic()

    async def _kit_on_executed(self, cell, cell_index, execute_reply, **_):
        seconds = time.monotonic() - self._kit_t0
        parent = execute_reply.get("parent_header", {}).get("msg_id")
        late = 0
        while True:
            try:
                msg = await ensure_async(self.kc.get_iopub_msg(timeout=self.late_output_grace))
            except Empty:
                break
            if msg.get("parent_header", {}).get("msg_id") != parent:
                continue
            if msg["msg_type"] in ("status", "execute_input"):
                continue
            late += 1
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                pass
        content = execute_reply.get("content", {})
        failed = content.get("status") == "error"
        if failed and not any(o.get("output_type") == "error" for o in cell.outputs):
            ename = content.get("ename") or "Error"
            evalue = content.get("evalue") or "Execution failed"
            cell.outputs.append(new_output(
                "error", ename=ename, evalue=evalue,
                traceback=[ename + ": " + evalue + " (the Deno kernel gives no details; "
                           "this is usually a syntax error in the cell)"]))
        self._kit_done += 1
        extra = ", %d late output(s) kept" % late if late else ""
        print("  cell %d (code cell %d/%d) %s in %.1fs%s" % (
            cell_index + 1, self._kit_done, self._kit_total,
            "FAILED" if failed else "ok", seconds, extra), file=sys.stderr, flush=True)


c.NotebookExporter.preprocessors = [KitExecutePreprocessor]
`;

/** Lines of nbconvert's stderr that say nothing useful. */
const NOISE = [
  /MissingIDFieldWarning/,
  /^\s*validate\(nb\)\s*$/,
  /"deno jupyter" is unstable/,
  /^\[NbConvertApp\] (Converting|Writing) /,
  /Native kernel \(python3\) is not available/,
];

/**
 * The part of nbconvert's stderr that explains a failure: the final exception of the last
 * Python traceback (for a failing cell: nbclient's `CellExecutionError` with the cell's
 * source and the kernel's error), else the last lines.
 * @param lines stderr lines, noise included.
 * @param max most lines returned.
 */
export function extractFailure(lines: readonly string[], max = 40): string[] {
  const clean = lines.map(stripAnsi).filter((l) => !NOISE.some((re) => re.test(l)));
  const tb = clean.findLastIndex((l) => l.startsWith("Traceback (most recent call last):"));
  let start = Math.max(0, clean.length - 20);
  if (tb >= 0) {
    const exc = clean.findIndex((l, i) => i > tb && l !== "" && !/^\s/.test(l));
    if (exc >= 0) start = exc;
  }
  const out = clean.slice(start);
  while (out.length > 0 && out.at(-1)!.trim() === "") out.pop();
  return out.length > max ? [...out.slice(0, max), `... (${out.length - max} more lines)`] : out;
}

/** A hint for a known kind of nbconvert failure, or "" when none applies. */
export function failureHint(failure: string, opts: Pick<NotebookRunOptions, "timeout">): string {
  if (failure.includes("CellTimeoutError")) {
    return `a cell ran longer than --timeout ${opts.timeout}s; raise it or shrink the cell's work`;
  }
  if (failure.includes("DeadKernelError")) {
    return "the kernel died: Deno.exit() in a cell, a crash, or out of memory";
  }
  if (/Error: Execution failed\s*$/.test(failure)) {
    return "the Deno kernel reports syntax errors without details; check the cell's syntax";
  }
  if (failure.includes("No such kernel named")) {
    return "install the kernel with `deno jupyter --install`";
  }
  return "";
}

/** `path` relative to the repo root when inside it, else absolute. */
function shortPath(path: string): string {
  const rel = relative(ROOT, resolve(path));
  return rel === "" ? "." : rel.startsWith("..") ? resolve(path) : rel;
}

/** Outcome of one notebook. */
export interface NotebookResult {
  /** Notebook path, relative to the repo root when inside it. */
  notebook: string;
  /** Path of the executed copy. */
  executed: string;
  /** Wall time of the nbconvert run, seconds. */
  seconds: number;
  /** nbconvert's exit code. */
  exitCode: number;
  /** Plotly outputs in the executed copy. */
  plotly: number;
  /** Errors found in the executed copy. */
  errors: NotebookProblem[];
  /** Why it failed; empty when it passed. */
  failures: string[];
}

/** Forward a child's output line by line: filter noise, indent, keep every line. */
async function pump(
  stream: ReadableStream<Uint8Array>,
  keep: string[],
  echo: (line: string) => void,
): Promise<void> {
  let buf = "";
  let inTraceback = false;
  const line = (l: string) => {
    keep.push(l);
    if (l.startsWith("Traceback (most recent call last):")) inTraceback = true;
    if (!inTraceback && !NOISE.some((re) => re.test(l)) && l.trim() !== "") echo(l);
  };
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      line(buf.slice(0, nl).replace(/\r$/, ""));
      buf = buf.slice(nl + 1);
    }
  }
  if (buf) line(buf);
}

/** Execute one notebook with nbconvert and check the executed copy. */
async function runNotebook(
  path: string,
  opts: NotebookRunOptions,
  configFile: string,
): Promise<NotebookResult> {
  const name = shortPath(path);
  const executed = join(opts.out, basename(path));
  await Deno.remove(executed).catch(() => {}); // never check a stale copy
  const args = [
    "nbconvert",
    "--to",
    "notebook",
    ...(opts.plain ? ["--execute"] : [
      `--config=${configFile}`,
      `--KitExecutePreprocessor.late_output_grace=${opts.grace}`,
    ]),
    `--ExecutePreprocessor.kernel_name=${opts.kernel}`,
    `--ExecutePreprocessor.timeout=${opts.timeout}`,
    ...(opts.allowErrors ? ["--allow-errors"] : []),
    `--output-dir=${opts.out}`,
    path,
  ];
  const t0 = performance.now();
  const child = new Deno.Command("jupyter", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const echo = (l: string) => console.log(/^\s/.test(l) ? l : `  ${l}`);
  await Promise.all([pump(child.stdout, lines, echo), pump(child.stderr, lines, echo)]);
  const { code } = await child.status;
  const seconds = (performance.now() - t0) / 1000;

  const result: NotebookResult = {
    notebook: name,
    executed,
    seconds,
    exitCode: code,
    plotly: 0,
    errors: [],
    failures: [],
  };
  if (code !== 0) {
    const why = extractFailure(lines);
    const hint = failureHint(why.join("\n"), opts);
    result.failures.push(
      `nbconvert exited with code ${code}${hint ? ` (${hint})` : ""}:\n${why.join("\n")}`,
    );
  }
  if (await exists(executed)) {
    const nb = parseNotebook(await Deno.readTextFile(executed), executed);
    result.plotly = plotlyOutputCount(nb);
    result.errors = notebookErrors(nb);
    for (const p of result.errors) {
      const where = `cell ${p.cell + 1}`;
      const hint = p.message.endsWith("Execution failed")
        ? ` (${failureHint(p.message, opts)})`
        : "";
      result.failures.push(
        p.kind === "error"
          ? `${where} raised ${p.message}${hint}`
          : `${where} printed an error on stderr: ${p.message}`,
      );
    }
    if (result.plotly === 0) {
      result.failures.push(
        "no plotly figure in the outputs: every notebook must display at least one " +
          "(displayFigure from lib/plot/display.ts)",
      );
    }
  } else if (code === 0) {
    result.failures.push(`nbconvert succeeded but wrote no ${executed}`);
  }
  return result;
}

/** Run the notebooks; returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  const opts = parseNotebookArgs(args);
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const notebooks = opts.notebooks.length > 0
    ? opts.notebooks
    : await listNotebooks(join(ROOT, "notebooks"));
  for (const nb of notebooks) {
    if (!(await exists(nb))) throw new ConfigError(`notebook ${nb} does not exist`);
    if (dirname(resolve(nb)) === resolve(opts.out)) {
      throw new ConfigError(
        `--out ${opts.out} is the folder of ${nb}: its executed copy would overwrite it; ` +
          "choose another folder (default results/notebooks)",
      );
    }
  }
  if (notebooks.length === 0) {
    console.log("notebooks: nothing to run (no notebooks/*.ipynb)");
    return 0;
  }

  const missing = await preflight(opts.kernel);
  if (missing !== undefined) {
    if (opts.require) {
      console.error(
        `error: cannot run notebooks: ${missing}` +
          (isCi(Deno.env.get("CI")) ? " (required because CI is set)" : ""),
      );
      return 1;
    }
    console.log(`SKIPPED notebooks: ${missing}`);
    return 0;
  }

  await Deno.mkdir(opts.out, { recursive: true });
  const tmp = await Deno.makeTempDir({ prefix: "kit-nbconvert-" });
  const configFile = join(tmp, "kit_nbconvert_config.py");
  await Deno.writeTextFile(configFile, NBCONVERT_CONFIG);
  const results: NotebookResult[] = [];
  const t0 = performance.now();
  try {
    for (const [i, path] of notebooks.entries()) {
      console.log(`[${i + 1}/${notebooks.length}] ${shortPath(path)}`);
      const r = await runNotebook(path, opts, configFile);
      results.push(r);
      const verdict = r.failures.length === 0
        ? `ok, ${r.plotly} plotly figure(s)`
        : `FAILED: ${r.failures[0]!.split("\n")[0]}`;
      console.log(
        `[${i + 1}/${notebooks.length}] ${r.notebook} in ${r.seconds.toFixed(1)}s: ${verdict}`,
      );
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  const total = (performance.now() - t0) / 1000;
  await writeTextAtomic(
    join(opts.out, "summary.json"),
    JSON.stringify(
      results.map(({ notebook, executed, seconds, exitCode, plotly, errors, failures }) => ({
        notebook,
        executed: shortPath(executed),
        seconds: Math.round(seconds * 10) / 10,
        exitCode,
        plotly,
        errors: errors.length,
        ok: failures.length === 0,
        failures,
      })),
      null,
      2,
    ) + "\n",
  );

  const failed = results.filter((r) => r.failures.length > 0);
  console.log(
    `\nnotebooks: ${results.length - failed.length} passed, ${failed.length} failed ` +
      `in ${total.toFixed(1)}s; executed copies in ${shortPath(opts.out)}/`,
  );
  for (const r of results) {
    console.log(
      `  ${r.failures.length === 0 ? "ok    " : "FAILED"} ${r.notebook}  ${
        r.seconds.toFixed(1)
      }s  ${r.plotly} figure(s)`,
    );
  }
  for (const r of failed) {
    const copy = (await exists(r.executed))
      ? `executed copy: ${shortPath(r.executed)}`
      : "no executed copy; --allow-errors keeps one";
    console.log(`\n${r.notebook} failed (${copy}):`);
    for (const f of r.failures) console.log(`  - ${f.replaceAll("\n", "\n    ")}`);
  }
  return failed.length > 0 ? 1 : 0;
}

if (import.meta.main) await runCli(() => main(Deno.args));
