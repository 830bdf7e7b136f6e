/**
 * PNG export through a headless Chromium, when one is installed (on Debian:
 * `apt-get install chromium`). Its absence is normal on many machines, so it is reported,
 * never thrown: the HTML file is the primary output and a PNG is a convenience.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";

/** What {@link renderPng} did. */
export type PngResult =
  | { ok: true; path: string; browser: string }
  | { ok: false; reason: string };

/** Options of {@link renderPng}. */
export interface PngOptions {
  /** Viewport width in CSS pixels (default 1000). */
  width?: number;
  /** Viewport height in CSS pixels (default 700); the PNG shows this much of the page. */
  height?: number;
  /** Kill the browser after this long (default 60 s). */
  timeoutMs?: number;
  /** A browser binary to use instead of searching. */
  browser?: string;
}

const NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
const FIXED = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/Applications/Chromium.app/Contents/MacOS/Chromium",
  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
];

/**
 * A Chromium-family browser: `$CHROMIUM_PATH`, then the usual install paths, then `PATH`.
 * @returns its path, or undefined when none is found (or we may not look).
 */
export function findChromium(): string | undefined {
  const env = (name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  };
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

/**
 * Screenshot an HTML file (e.g. from `writeFigureHtml`) into a PNG with headless Chromium.
 * @returns `{ok: true, path, browser}`, or `{ok: false, reason}` when no browser is
 *   installed, `--allow-run` is missing, or the browser failed (its last output lines are
 *   in `reason`). Never throws for these.
 */
export async function renderPng(
  htmlPath: string,
  pngPath: string,
  opts: PngOptions = {},
): Promise<PngResult> {
  const browser = opts.browser ?? findChromium();
  if (!browser) {
    return {
      ok: false,
      reason: "no Chromium found (looked at $CHROMIUM_PATH, " +
        `${FIXED.join(", ")} and ${NAMES.join("/")} on PATH); install one ` +
        "(Debian: apt-get install chromium) or open the HTML file instead",
    };
  }
  const out = resolve(pngPath);
  // Chromium writes the screenshot in place: shoot into a temp name, then rename, so an
  // interrupted export never leaves half a PNG under the final name.
  const shot = join(dirname(out), `.${basename(out, ".png")}.tmp-${Deno.pid}.png`);
  const page = new URL(`file://${encodeURI(resolve(htmlPath))}`).href;
  const profile = await Deno.makeTempDir({ prefix: "kit-chromium-" });
  try {
    await Deno.remove(shot).catch(() => {});
    const cmd = new Deno.Command(browser, {
      args: [
        "--headless",
        "--no-sandbox", // Chromium refuses to run as root with its sandbox (containers)
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        `--user-data-dir=${profile}`,
        `--screenshot=${shot}`,
        `--window-size=${opts.width ?? 1000},${opts.height ?? 700}`,
        // give plotly's deferred drawing time to finish before the shot
        "--virtual-time-budget=5000",
        page,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000),
    });
    let result: Deno.CommandOutput;
    try {
      result = await cmd.output();
    } catch (e) {
      const why = e instanceof Error && e.name === "AbortError"
        ? `it did not finish within ${(opts.timeoutMs ?? 60_000) / 1000} s`
        : (e as Error).message;
      return { ok: false, reason: `could not run ${browser}: ${why}` };
    }
    const size = await Deno.stat(shot).then((s) => s.size, () => 0);
    if (!result.success || size === 0) {
      const tail = new TextDecoder().decode(result.stderr).trim().split("\n").slice(-5).join(" | ");
      return {
        ok: false,
        reason: `${browser} exited with code ${result.code} without writing ${out}: ${tail}`,
      };
    }
    await Deno.rename(shot, out);
    return { ok: true, path: out, browser };
  } finally {
    await Deno.remove(shot).catch(() => {});
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}
