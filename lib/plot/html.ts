/**
 * HTML pages for figures, drawn with the pinned plotly.js (`plotly.js-dist-min` in
 * node_modules), so a page opens offline, years later, without a CDN. The bundle (4.6 MB)
 * is either inline (one self-contained file) or a `plotly.min.js` written once beside the
 * pages of a results directory and referenced by each of them.
 *
 * Figures are laid out at the `screen` size (`size_figure.ts`): fixed width, caption
 * below the plot.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { KitError } from "../util/errors.ts";
import { writeTextAtomic } from "../util/atomic_write.ts";
import type { Figure } from "./figure.ts";
import { escapeHtml, scriptJson } from "../util/html_escape.ts";
import { sizeFigure } from "./size_figure.ts";

/** The plotly.js version the kit's figures are written for (pinned in deno.json). */
export const PLOTLY_VERSION = "3.0.1";

let bundle: string | undefined;
let bundlePath: string | undefined;

/** Where the bundle is looked for: next to this repo's lib/, then under the working dir. */
function bundleCandidates(): string[] {
  const rel = "node_modules/plotly.js-dist-min/plotly.min.js";
  const out: string[] = [];
  const here = new URL(`../../${rel}`, import.meta.url);
  if (here.protocol === "file:") out.push(decodeURIComponent(here.pathname));
  try {
    out.push(`${Deno.cwd()}/${rel}`);
  } catch {
    // no read permission for the cwd
  }
  return out;
}

/**
 * The path of the pinned plotly.js bundle in node_modules.
 * @throws KitError when it is missing or is not plotly.js {@link PLOTLY_VERSION}.
 */
export function plotlyBundlePath(): string {
  if (bundlePath === undefined) plotlyBundle();
  return bundlePath!;
}

/**
 * The plotly.js bundle's source (about 4.6 MB), read once, with `</script` escaped so it
 * can sit inside an inline `<script>` element.
 * @throws KitError when it is missing or is not plotly.js {@link PLOTLY_VERSION}.
 */
export function plotlyBundle(): string {
  if (bundle !== undefined) return bundle;
  const tried = bundleCandidates();
  for (const path of tried) {
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch {
      continue;
    }
    const version = /plotly\.js v(\d+\.\d+\.\d+)/.exec(text.slice(0, 200))?.[1];
    if (version !== PLOTLY_VERSION) {
      throw new KitError(
        `${path} is plotly.js ${version ?? "of unknown version"}, but the kit pins ` +
          `${PLOTLY_VERSION}; run deno install to restore the pinned version`,
      );
    }
    // "</script" inside the inline script would end it early
    bundle = text.replaceAll("</script", "<\\/script");
    bundlePath = path;
    return bundle;
  }
  throw new KitError(
    `plotly.js is not installed (looked for ${tried.join(" and ")}); run deno install ` +
      `in the repository root to fetch plotly.js-dist-min@${PLOTLY_VERSION}`,
  );
}

/** The bundle's file name beside the pages that share it. */
export const PLOTLY_FILE = "plotly.min.js";

/**
 * Write the pinned plotly.js as `<dir>/plotly.min.js`, once: a file already there with the
 * same size and version is kept.
 * @returns the file's path.
 * @throws KitError when the bundle is missing from node_modules.
 */
export async function writePlotlyBundle(dir: string): Promise<string> {
  const src = plotlyBundlePath();
  const target = join(dir, PLOTLY_FILE);
  const [have, want] = await Promise.all([
    Deno.stat(target).then((s) => s.size, () => -1),
    Deno.stat(src).then((s) => s.size),
  ]);
  if (have === want) {
    const head = new Uint8Array(200);
    const f = await Deno.open(target);
    try {
      await f.read(head);
    } finally {
      f.close();
    }
    if (new TextDecoder().decode(head).includes(`plotly.js v${PLOTLY_VERSION}`)) return target;
  }
  await writeTextAtomic(target, await Deno.readTextFile(src));
  return target;
}

/**
 * Where a page gets plotly.js: `inline` embeds it (one self-contained file, 4.6 MB each);
 * `beside` loads `plotly.min.js` from the page's directory (written once by
 * {@link writePlotlyBundle}); `{src}` loads it from the given relative path or URL.
 */
export type PlotlySource = "inline" | "beside" | { src: string };

/** The `<script>` tag that loads plotly.js from `source`. */
export function plotlyScriptTag(source: PlotlySource): string {
  return source === "inline"
    ? `<script>${plotlyBundle()}</script>`
    : `<script src="${escapeHtml(source === "beside" ? PLOTLY_FILE : source.src)}"></script>`;
}

/**
 * A page's head: doctype, charset, generator, `title` (already escaped), the `css` rules and
 * then `head` (e.g. the plotly.js script tag).
 */
export function pageHead(title: string, css: string, head: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="rlhf-kit, plotly.js ${PLOTLY_VERSION}">
<title>${title}</title>
<style>
${css}
</style>
${head}
</head>`;
}

/**
 * The script that draws `figures` into the divs `fig-0`, `fig-1`, …, or, when plotly.js did
 * not load, inserts `missing` into the body at `where`.
 */
export function drawFiguresScript(
  figures: readonly Figure[],
  missing: { where: "afterbegin" | "beforeend"; html: string },
): string {
  return `<script>
const figures = ${scriptJson(figures)};
if (!window.Plotly) {
  document.body.insertAdjacentHTML("${missing.where}",
    ${JSON.stringify(missing.html)});
} else {
  figures.forEach((f, i) => Plotly.newPlot("fig-" + i, f.data, f.layout, { displaylogo: false }));
}
</script>`;
}

/** Options of {@link figureHtml}. */
export interface FigureHtmlOptions {
  /** Page title and heading. */
  title?: string;
  /** Where the page gets plotly.js (default `inline`). */
  plotly?: PlotlySource;
}

/**
 * A complete HTML page drawing `figs` one below the other, each laid out at the `screen`
 * size with its caption.
 * @param figs one figure or several.
 * @returns the page.
 * @throws KitError when the plotly bundle is needed inline and is missing.
 */
export function figureHtml(figs: Figure | readonly Figure[], opts: FigureHtmlOptions = {}): string {
  const list = (Array.isArray(figs) ? figs as readonly Figure[] : [figs as Figure]).map((f) =>
    sizeFigure(f, "screen")
  );
  const title = escapeHtml(opts.title ?? "RLHF kit figures");
  const divs = list.map((f, i) =>
    `<div id="fig-${i}" class="fig" style="width:${f.layout.width}px;height:${f.layout.height}px"></div>`
  );
  const head = pageHead(
    title,
    "body { font-family: system-ui, sans-serif; margin: 1em 2em; }\n.fig { margin-bottom: 2em; }",
    plotlyScriptTag(opts.plotly ?? "inline"),
  );
  const draw = drawFiguresScript(list, {
    where: "beforeend",
    html: `<p>plotly.js did not load: keep ${PLOTLY_FILE} beside this page.</p>`,
  });
  return `${head}
<body>
<h1>${title}</h1>
${divs.join("\n")}
${draw}
</body>
</html>
`;
}

/** Options of {@link writeFigureHtml}. */
export interface WriteFigureHtmlOptions {
  /** Page title and heading. */
  title?: string;
  /**
   * Where the page gets plotly.js (default `inline`); with `beside`, `plotly.min.js` is
   * written next to the page if it is not there yet.
   */
  plotly?: PlotlySource;
}

/**
 * Write {@link figureHtml} to `path` atomically (parent directories are created).
 * @param opts a title string (older form) or {@link WriteFigureHtmlOptions}.
 */
export async function writeFigureHtml(
  path: string,
  figs: Figure | readonly Figure[],
  opts: string | WriteFigureHtmlOptions = {},
): Promise<void> {
  const o = typeof opts === "string" ? { title: opts } : opts;
  if (o.plotly === "beside") await writePlotlyBundle(dirname(path));
  await writeTextAtomic(path, figureHtml(figs, o));
}
