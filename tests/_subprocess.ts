/**
 * Run the project's `deno task`s as subprocesses with exactly the permissions deno.json
 * gives them: the command line of a task is read from deno.json's `tasks`, never copied
 * into a test. Also parses every task's permission flags into a structure
 * ({@link taskPermissions}) for tests of least privilege.
 *
 * A task is a chain of `deno <subcommand> [flags] [script or paths] [args]` commands joined
 * by `&&` (most tasks are one `deno run <flags> <script> [args]`). Anything else a shell
 * would accept (pipes, `;`, `||`, redirections, environment assignments) is rejected with
 * an error naming the task, so a task this module cannot read fails loudly, not silently.
 *
 * @module
 */
import { join } from "node:path";

/** The repository root (tests run their subprocesses there, as `deno task` does). */
export const ROOT = new URL("..", import.meta.url).pathname;

/** The permissions Deno knows, by the name of their `--allow-<name>` flag. */
export const PERMISSION_NAMES = [
  "read",
  "write",
  "env",
  "run",
  "sys",
  "net",
  "ffi",
  "import",
] as const;
/** One permission's name. */
export type PermissionName = (typeof PERMISSION_NAMES)[number];

/**
 * What a permission grants: `false` nothing, `true` everything, or only the listed values
 * (paths, variable names, programs, hosts) exactly as written in deno.json.
 */
export type Grant = boolean | readonly string[];

/** Every permission's grant. */
export type Permissions = Record<PermissionName, Grant>;

/** One `deno` command of a task. */
export interface DenoStep {
  /** `run`, `test`, `fmt`, `task`, … */
  subcommand: string;
  /** Flags between the subcommand and the first positional argument, as written. */
  flags: string[];
  /** Positional arguments: for `run`, the script then its arguments. */
  positional: string[];
}

/** Short forms of the permission flags (`-R` is `--allow-read`). */
const SHORT_FLAGS: Record<string, PermissionName | "all"> = {
  "-A": "all",
  "-R": "read",
  "-W": "write",
  "-E": "env",
  "-S": "sys",
  "-N": "net",
  "-I": "import",
};

/** Split a command line into words as a POSIX shell would for plain words and quotes. */
function words(task: string, line: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      word ??= "";
    } else if (/\s/.test(ch)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else if ("|;<>$`\\".includes(ch)) {
      throw new Error(`task ${task}: cannot read ${JSON.stringify(ch)} in ${line}`);
    } else {
      word = (word ?? "") + ch;
    }
  }
  if (quote) throw new Error(`task ${task}: unclosed ${quote} in ${line}`);
  if (word !== undefined) out.push(word);
  return out;
}

/**
 * Parse one task's command line into its `deno` commands.
 * @throws Error naming the task when a part is not `deno <subcommand> …` joined by `&&`.
 */
export function parseTask(task: string, line: string): DenoStep[] {
  const steps: DenoStep[] = [];
  let current: string[] = [];
  const finish = () => {
    const [deno, subcommand, ...rest] = current;
    if (deno !== "deno" || !subcommand || subcommand.startsWith("-")) {
      throw new Error(
        `task ${task}: expected "deno <subcommand> …", got ${JSON.stringify(current.join(" "))}`,
      );
    }
    const firstPositional = rest.findIndex((w) => !w.startsWith("-"));
    const split = firstPositional < 0 ? rest.length : firstPositional;
    steps.push({ subcommand, flags: rest.slice(0, split), positional: rest.slice(split) });
    current = [];
  };
  for (const w of words(task, line)) {
    if (w === "&&") finish();
    else if (w === "&" || w === "||") throw new Error(`task ${task}: cannot read ${w} in ${line}`);
    else current.push(w);
  }
  finish();
  for (const s of steps) stepPermissions(task, s); // reject flags it cannot read now
  return steps;
}

/**
 * Subcommands whose `--allow-*` flags grant the code they run permissions. The others run
 * no project code under permissions (`fmt`, `lint`, `doc`, `check`, `publish`, …), and
 * their own `--allow-*` flags are options (`deno publish --allow-dirty`).
 */
const PERMISSIONED_SUBCOMMANDS = new Set([
  "run",
  "test",
  "bench",
  "eval",
  "compile",
  "serve",
  "repl",
  "install",
  "jupyter",
]);

/** The permissions one command grants by its own flags (a `deno task` step: none here). */
function stepPermissions(task: string, step: DenoStep): Permissions {
  return PERMISSIONED_SUBCOMMANDS.has(step.subcommand) ? flagPermissions(task, step.flags) : none();
}

/** Nothing granted. */
function none(): Permissions {
  return Object.fromEntries(PERMISSION_NAMES.map((n) => [n, false])) as Permissions;
}

/** The union of two grants: what either allows. */
function unionGrant(a: Grant, b: Grant): Grant {
  if (a === true || b === true) return true;
  if (a === false) return b;
  if (b === false) return a;
  return [...new Set([...a, ...b])];
}

/**
 * The permissions a list of flags grants. Flags that are not permission flags (`--check`,
 * `--quiet`, …) grant nothing.
 * @throws Error naming the task for `--deny-*`, `-P`/`--permission-set` and unknown
 *   `--allow-*` flags, whose effect this parser does not model.
 */
export function flagPermissions(task: string, flags: readonly string[]): Permissions {
  const p = none();
  const grant = (name: PermissionName, value: string | undefined) => {
    const list = value === undefined ? true : value.split(",").filter(Boolean);
    p[name] = unionGrant(p[name], list);
  };
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    const [key, value] = eq < 0 ? [flag, undefined] : [flag.slice(0, eq), flag.slice(eq + 1)];
    const short = SHORT_FLAGS[key];
    const long = /^--allow-(.+)$/.exec(key)?.[1];
    if (key === "--allow-all" || short === "all") {
      for (const n of PERMISSION_NAMES) p[n] = true;
    } else if (short) {
      grant(short, value);
    } else if (long && (PERMISSION_NAMES as readonly string[]).includes(long)) {
      grant(long as PermissionName, value);
    } else if (long === "scripts" || long === "dirty" || long === "slow-types") {
      // npm lifecycle scripts at install time, `deno publish` options: not runtime permissions
    } else if (/^--(allow|deny)-/.test(key) || key === "-P" || key === "--permission-set") {
      throw new Error(`task ${task}: cannot read the permission flag ${flag}`);
    }
  }
  return p;
}

let cachedTasks: Record<string, string> | undefined;

/** deno.json's `tasks`, by name (read once). */
export function denoTasks(): Record<string, string> {
  if (!cachedTasks) {
    const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
    cachedTasks = config.tasks as Record<string, string>;
  }
  return cachedTasks;
}

/** A task's command line. @throws Error when deno.json has no such task. */
function taskLine(name: string): string {
  const line = denoTasks()[name];
  if (line === undefined) throw new Error(`deno.json has no task ${JSON.stringify(name)}`);
  return line;
}

/**
 * The permissions of every task: for a chain, the union over its commands, where a
 * `deno task <other>` command contributes the other task's permissions (what the task can
 * do at most). Commands that run no project code under permissions (`deno fmt`, `deno lint`,
 * `deno publish --allow-dirty`, …) grant none.
 */
export function taskPermissions(): Record<string, Permissions> {
  const out: Record<string, Permissions> = {};
  const resolve = (name: string, seen: readonly string[]): Permissions => {
    if (seen.includes(name)) {
      throw new Error(`tasks call each other: ${[...seen, name].join(" → ")}`);
    }
    const p = none();
    for (const step of parseTask(name, taskLine(name))) {
      const q = step.subcommand === "task"
        ? resolve(step.positional[0] ?? "", [...seen, name])
        : stepPermissions(name, step);
      for (const n of PERMISSION_NAMES) p[n] = unionGrant(p[n], q[n]);
    }
    return p;
  };
  for (const name of Object.keys(denoTasks())) out[name] = resolve(name, []);
  return out;
}

/**
 * Arguments for `Deno.execPath()` that run task `name` as `deno task name …extraArgs`
 * would: `run`, the task's flags, its script and arguments, then `extraArgs`.
 * @throws Error when the task is not a single `deno run` command.
 */
export function taskCommand(name: string, extraArgs: readonly string[] = []): string[] {
  const steps = parseTask(name, taskLine(name));
  const [step] = steps;
  if (steps.length !== 1 || step?.subcommand !== "run" || step.positional.length === 0) {
    throw new Error(`task ${name} is not one "deno run <flags> <script>": ${taskLine(name)}`);
  }
  return ["run", ...step.flags, ...step.positional, ...extraArgs];
}

/** What a finished subprocess printed. */
export interface ProcessOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link runDeno} and {@link runTask}. */
export interface RunOptions {
  /** Added to the environment, over the defaults `NO_COLOR=1` and `RLHF_PNG=0`. */
  env?: Record<string, string>;
}

/** The environment subprocesses get: no colour codes in output, no PNG export (slow). */
export function subprocessEnv(env: Record<string, string> = {}): Record<string, string> {
  return { NO_COLOR: "1", RLHF_PNG: "0", ...env };
}

/** Run `deno <args>` in the repository root and collect its output. */
export async function runDeno(
  args: readonly string[],
  options: RunOptions = {},
): Promise<ProcessOutput> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...args],
    cwd: ROOT,
    env: subprocessEnv(options.env),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Run task `name` with `args` appended, with the task's own permissions. */
export function runTask(
  name: string,
  args: readonly string[] = [],
  options: RunOptions = {},
): Promise<ProcessOutput> {
  return runDeno(taskCommand(name, args), options);
}
