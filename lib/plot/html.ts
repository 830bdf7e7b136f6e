/**
 * Standalone HTML for figures: the plotly.js bundle is embedded inline (from the pinned
 * `plotly.js-dist-min` package in node_modules), so the file opens offline, years later,
 * without a CDN.
 *
 * @module
 */
import { KitError } from "../util/errors.ts";
import { writeTextAtomic } from "../util/atomic_write.ts";
import type { Figure } from "./figure.ts";
import { escapeHtml, scriptJson } from "./_escape.ts";

/** The plotly.js version the kit's figures are written for (pinned in deno.json). */
export const PLOTLY_VERSION = "3.0.1";

let bundle: string | undefined;

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
 * The plotly.js bundle's source (about 4.6 MB), read once.
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
    return bundle;
  }
  throw new KitError(
    `plotly.js is not installed (looked for ${tried.join(" and ")}); run deno install ` +
      `in the repository root to fetch plotly.js-dist-min@${PLOTLY_VERSION}`,
  );
}

/** Options of {@link figureHtml}. */
export interface FigureHtmlOptions {
  /** Page title and heading. */
  title?: string;
}

/**
 * A complete HTML page drawing `figs` one below the other.
 * @param figs one figure or several.
 * @returns the page, with plotly.js inline.
 * @throws KitError when the plotly bundle is missing.
 */
export function figureHtml(figs: Figure | readonly Figure[], opts: FigureHtmlOptions = {}): string {
  const list = Array.isArray(figs) ? figs as readonly Figure[] : [figs as Figure];
  const title = escapeHtml(opts.title ?? "RLHF kit figures");
  const divs = list.map((f, i) => {
    const h = typeof f.layout.height === "number" ? f.layout.height : 500;
    return `<div id="fig-${i}" class="fig" style="height:${h}px"></div>`;
  });
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="rlhf-kit, plotly.js ${PLOTLY_VERSION}">
<title>${title}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1em 2em; }
.fig { width: 100%; margin-bottom: 2em; }
</style>
<script>${plotlyBundle()}</script>
</head>
<body>
<h1>${title}</h1>
${divs.join("\n")}
<script>
const figures = ${scriptJson(list)};
figures.forEach((f, i) =>
  Plotly.newPlot("fig-" + i, f.data, f.layout, { responsive: true, displaylogo: false }));
</script>
</body>
</html>
`;
}

/**
 * Write {@link figureHtml} to `path` atomically (parent directories are created).
 */
export async function writeFigureHtml(
  path: string,
  figs: Figure | readonly Figure[],
  title?: string,
): Promise<void> {
  await writeTextAtomic(path, figureHtml(figs, { title }));
}
