/**
 * A headless Chromium for image export, when one is installed (on Debian:
 * `apt-get install chromium`). Its absence is normal on many machines, so it is reported,
 * never thrown: HTML is the primary output and images are a convenience.
 *
 * Each session gets a fresh profile in a temp directory `kit-chromium-<pid>-*`. While a
 * session is open, SIGINT (Ctrl-C) and SIGTERM are caught: the handler stops every browser
 * the session started (SIGTERM, then SIGKILL after 2 s, then any process still naming the
 * profile in its command line), removes the profile, and exits with 130 or 143 as the
 * default action would. The handler is removed when the last session closes.
 *
 * @module
 */

/** What a browser run printed, or why there is no browser output. */
export type ChromiumResult =
  | { ok: true; stdout: string; stderr: string }
  | { ok: false; reason: string };

const NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
const FIXED = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/Applications/Chromium.app/Contents/MacOS/Chromium",
  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
];

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * A Chromium-family browser: `$CHROMIUM_PATH`, then the usual install paths, then `PATH`.
 * @returns its path, or undefined when none is found (or we may not look).
 */
export function findChromium(): string | undefined {
  const candidates = [env("CHROMIUM_PATH"), ...FIXED];
  for (const dir of (env("PATH") ?? "").split(":").filter(Boolean)) {
    for (const n of NAMES) candidates.push(`${dir}/${n}`);
  }
  for (const c of candidates) {
    if (!c) continue;
    try {
      if (Deno.statSync(c).isFile) return c;
    } catch {
      // not there, or not allowed to look
    }
  }
  return undefined;
}

/** Why no browser was found, for messages. */
export function noChromiumReason(): string {
  return "no Chromium found (looked at $CHROMIUM_PATH, " +
    `${FIXED.join(", ")} and ${NAMES.join("/")} on PATH); install one ` +
    "(Debian: apt-get install chromium) or open the HTML files instead";
}

/** Flags for a quiet, isolated headless run. */
const BASE_FLAGS = [
  "--headless",
  "--no-sandbox", // Chromium refuses to run as root with its sandbox (containers)
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-breakpad",
  "--hide-scrollbars",
];

/** An open browser session: a fresh profile directory and the browsers it runs. */
export interface ChromiumSession {
  /** The browser binary. */
  readonly browser: string;
  /** The session's temp directory (profile and scratch files). */
  readonly dir: string;
  /**
   * Run the browser once with `args` after the base flags and this session's profile.
   * @returns its output, or `{ok: false, reason}` when it cannot start, fails or times out.
   */
  run(args: readonly string[], timeoutMs: number): Promise<ChromiumResult>;
}

interface Open {
  dir: string;
  children: Set<Deno.ChildProcess>;
}

const open = new Set<Open>();
let listening = false;

/** Stop a session's browsers (SIGTERM, SIGKILL after 2 s) and remove its directory. */
async function teardown(s: Open): Promise<void> {
  const children = [...s.children];
  const signal = (sig: Deno.Signal) => {
    for (const child of children) {
      try {
        child.kill(sig);
      } catch {
        // already gone
      }
    }
  };
  signal("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      signal("SIGKILL");
      resolve();
    }, 2000);
  });
  await Promise.race([Promise.all(children.map((c) => c.status.catch(() => undefined))), late]);
  clearTimeout(timer);
  await killByArgument(s.dir);
  await Deno.remove(s.dir, { recursive: true }).catch(() => {});
}

/**
 * SIGKILL any process whose command line names `needle` (a session's directory): browser
 * helpers that outlived their parent. Reads /proc where allowed (Deno asks for full access
 * to read it), else asks `pgrep -f`; elsewhere a no-op.
 */
async function killByArgument(needle: string): Promise<void> {
  for (const pid of await pidsNaming(needle)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // gone, or not ours
    }
  }
}

async function pidsNaming(needle: string): Promise<number[]> {
  try {
    const out: number[] = [];
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      try {
        if (Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(needle)) out.push(+e.name);
      } catch {
        // gone
      }
    }
    return out;
  } catch {
    // no /proc, or no permission to read it
  }
  try {
    const pattern = needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const res = await new Deno.Command("pgrep", { args: ["-f", pattern], stdout: "piped" })
      .output();
    return new TextDecoder().decode(res.stdout).split(/\s+/).filter(Boolean).map(Number)
      .filter((pid) => pid !== Deno.pid);
  } catch {
    return [];
  }
}

const onSigint = () => void exitAfterTeardown(130);
const onSigterm = () => void exitAfterTeardown(143);

/** Set once a signal arrived: work waiting on a browser must not resume. */
let interrupted = false;

/** A promise that never settles: the process exits while it waits. */
const never = () => new Promise<never>(() => {});

async function exitAfterTeardown(code: number): Promise<void> {
  interrupted = true;
  await Promise.all([...open].map(teardown));
  Deno.exit(code);
}

function listen(on: boolean): void {
  if (on === listening) return;
  listening = on;
  for (const [sig, fn] of [["SIGINT", onSigint], ["SIGTERM", onSigterm]] as const) {
    try {
      if (on) Deno.addSignalListener(sig, fn);
      else Deno.removeSignalListener(sig, fn);
    } catch {
      // SIGTERM cannot be caught on Windows
    }
  }
}

/**
 * Open a session, run `fn` with it, and always tear it down (browsers stopped, profile
 * removed), also on SIGINT/SIGTERM during `fn` (see the module doc).
 * @param browser the browser binary (e.g. from {@link findChromium}).
 */
export async function withChromium<T>(
  browser: string,
  fn: (session: ChromiumSession) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: `kit-chromium-${Deno.pid}-` });
  const state: Open = { dir, children: new Set() };
  open.add(state);
  listen(true);
  const session: ChromiumSession = {
    browser,
    dir,
    run: (args, timeoutMs) => runOnce(browser, state, args, timeoutMs),
  };
  try {
    return await fn(session);
  } finally {
    if (interrupted) await never(); // the signal handler tears down and exits
    open.delete(state);
    if (!open.size) listen(false);
    await teardown(state);
  }
}

async function runOnce(
  browser: string,
  state: Open,
  args: readonly string[],
  timeoutMs: number,
): Promise<ChromiumResult> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(browser, {
      args: [...BASE_FLAGS, `--user-data-dir=${state.dir}/profile`, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    return { ok: false, reason: `could not run ${browser}: ${(e as Error).message}` };
  }
  state.children.add(child);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  try {
    const out = await child.output();
    if (interrupted) await never(); // killed by the signal handler: do not go on
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    if (timedOut) {
      return { ok: false, reason: `${browser} did not finish within ${timeoutMs / 1000} s` };
    }
    if (!out.success) {
      const tail = stderr.trim().split("\n").slice(-5).join(" | ");
      return { ok: false, reason: `${browser} exited with code ${out.code}: ${tail}` };
    }
    return { ok: true, stdout, stderr };
  } finally {
    clearTimeout(timer);
    state.children.delete(child);
    await killByArgument(`${state.dir}/profile`);
  }
}
