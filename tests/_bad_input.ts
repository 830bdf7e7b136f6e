/**
 * Checking bad inputs where they belong: a table of command lines that must be refused
 * before any work ({@link checkRefusedCommands}), a table of library calls that must
 * reject with a class and a message ({@link checkRejections}), and a temporary directory
 * that the test using it removes itself ({@link withTempDir}).
 *
 * A refused command line prints exactly one line on stderr, `error: <message>`, with no
 * stack trace, and exits with code 2 (experiments/cli.ts). Cases are checked in this
 * process through a parse function when the caller gives one (fast: `parseSweep` plans a
 * sweep without doing any of it), and as a subprocess of the task, with the task's own
 * permissions from deno.json, otherwise or when a case asks for it (or sets environment
 * variables, which would leak into every test of this process).
 *
 * @module
 */
import { KitError } from "../lib/util/errors.ts";
import { runPool } from "../lib/sweep/pool.ts";
import { runTask } from "./_subprocess.ts";
import { assertEquals, assertRejects } from "./assert.ts";

/** One command line that must fail before any work with one line naming the problem. */
export interface RefusedCommand {
  /** Arguments after the task's own, e.g. `["canonical", "--ppo.lr", "abc"]`. */
  args: readonly string[];
  /** The message after `error: `: the whole of it, or a part of it when `partial`. */
  message: string;
  /** Compare only a part of the message (it lists many keys, say). */
  partial?: boolean;
  /** Environment variables of the subprocess (such a case runs only as one). */
  env?: Record<string, string>;
  /** Also run it as a subprocess when a parse function checks it in this process. */
  process?: boolean;
  /**
   * Run it only as a subprocess: what it checks needs the task's own permissions (where it
   * may write), which this test process does not have.
   */
  processOnly?: boolean;
}

/** Whether a case cannot be checked in this process. */
function awayOnly(c: RefusedCommand): boolean {
  return c.env !== undefined || c.processOnly === true;
}

/** Options of {@link checkRefusedCommands}. */
export interface RefusalOptions {
  /**
   * Parse (and plan) the arguments in this process without doing any work; it must throw a
   * KitError. Without it every case runs as a subprocess.
   */
  parse?: (args: readonly string[]) => Promise<unknown>;
  /** Paths that must still not exist afterwards: nothing was started. */
  untouched?: readonly string[];
  /** Subprocesses at a time (default 3). */
  jobs?: number;
}

/** Whether `message` is what the case expects. */
function matches(c: RefusedCommand, message: string): boolean {
  return c.partial ? message.includes(c.message) : message === c.message;
}

/** Check one case in this process; the problem found, if any. */
async function checkInProcess(
  parse: (args: readonly string[]) => Promise<unknown>,
  c: RefusedCommand,
): Promise<string | undefined> {
  const shown = c.args.join(" ");
  try {
    await parse(c.args);
  } catch (e) {
    if (!(e instanceof KitError)) return `${shown}: threw ${e} (not a KitError: a bug)`;
    if (matches(c, e.message)) return undefined;
    return `${shown}: expected ${JSON.stringify(c.message)}, got ${JSON.stringify(e.message)}`;
  }
  return `${shown}: accepted`;
}

/** Run one case as `deno task <task> …args`; the problem found, if any. */
async function checkAsProcess(task: string, c: RefusedCommand): Promise<string | undefined> {
  const out = await runTask(task, c.args, c.env ? { env: c.env } : {});
  const lines = out.stderr.split("\n").filter((l) => l.trim() !== "");
  const env = c.env ? Object.entries(c.env).map(([k, v]) => `${k}=${v} `).join("") : "";
  const shown = `${env}deno task ${task} ${c.args.join(" ")}: exit ${out.code}, stderr:\n` +
    out.stderr;
  if (out.code !== 2) return `expected exit code 2 — ${shown}`;
  if (/^\s+at /m.test(out.stderr)) return `a stack trace — ${shown}`;
  if (lines.length !== 1) return `expected one line on stderr — ${shown}`;
  const line = lines[0]!;
  if (!line.startsWith("error: ")) return `expected "error: " first — ${shown}`;
  if (matches(c, line.slice("error: ".length))) return undefined;
  return `expected ${JSON.stringify(c.message)} — ${shown}`;
}

/**
 * Check that every command line of `cases` is refused as its case says: in this process
 * through `options.parse` when given, and as a subprocess of deno.json's `task` when there
 * is no parse function, the case sets environment variables, or it asks for `process` or
 * `processOnly`.
 * Fails with every problem found at once, then checks that no `untouched` path appeared.
 * @returns how many cases ran in this process and how many as subprocesses.
 */
export async function checkRefusedCommands(
  task: string,
  cases: readonly RefusedCommand[],
  options: RefusalOptions = {},
): Promise<{ inProcess: number; subprocess: number }> {
  const { parse } = options;
  const problems: string[] = [];
  const here = parse ? cases.filter((c) => !awayOnly(c)) : [];
  for (const c of here) {
    const p = await checkInProcess(parse!, c);
    if (p) problems.push(p);
  }
  const away = cases.filter((c) => !parse || awayOnly(c) || c.process);
  await runPool(away, {
    jobs: options.jobs ?? 3,
    run: async (c) => {
      const p = await checkAsProcess(task, c);
      if (p) problems.push(p);
    },
  });
  assertEquals(problems, [], `${problems.length} problem(s):\n\n${problems.join("\n\n")}`);
  for (const path of options.untouched ?? []) {
    const exists = await Deno.stat(path).then(() => true, () => false);
    assertEquals(exists, false, `${path} appeared: a refused command line started work`);
  }
  return { inProcess: here.length, subprocess: away.length };
}

/** One library call that must reject (or throw) an error of a class with a message. */
export interface Rejection {
  /** What is wrong with the input, as a step name ("a negative margin"). */
  name: string;
  /** The call; may return a promise. */
  call: () => unknown;
  // deno-lint-ignore no-explicit-any
  cls: new (...args: any[]) => Error;
  /** A part of the message (the whole of it, where it is short). */
  message: string;
}

/** Check every call of `cases`, one test step each. */
export async function checkRejections(
  t: Deno.TestContext,
  cases: readonly Rejection[],
): Promise<void> {
  for (const c of cases) {
    await t.step(c.name, async () => {
      await assertRejects(async () => await c.call(), c.cls, c.message);
    });
  }
}

/**
 * Run `fn` with a fresh temporary directory and remove the directory afterwards, whether
 * `fn` passed or failed.
 */
export async function withTempDir<T>(
  fn: (dir: string) => Promise<T>,
  prefix = "kit-test-",
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Write `content` to `<dir>/<name>` (a fresh subdirectory, so names may repeat); its path. */
export async function writeFileIn(
  dir: string,
  name: string,
  content: string | Uint8Array,
): Promise<string> {
  const sub = await Deno.makeTempDir({ dir });
  const path = `${sub}/${name}`;
  if (typeof content === "string") await Deno.writeTextFile(path, content);
  else await Deno.writeFile(path, content);
  return path;
}
