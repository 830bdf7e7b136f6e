/**
 * Image export drawn by plotly.js itself: SVG and PNG from `Plotly.toImage`, run in a
 * headless Chromium, and PDF from Chromium printing that SVG on a page of the figure's
 * size. The images hold only the figure (no page heading, no toolbar).
 *
 * How: the figures, laid out for each size (`size_figure.ts`), go into a temp page that
 * loads the pinned plotly.js from node_modules, draws each figure off-screen, calls
 * `Plotly.toImage` and writes the results (base64 JSON) into the page; Chromium's
 * `--dump-dom` prints the page after its virtual-time budget, and Deno decodes it. One
 * browser run draws every figure and size; each PDF is one more run (`--print-to-pdf`).
 * Temp files live in the browser session's directory (removed afterwards, also on
 * Ctrl-C/SIGTERM: see `chromium.ts`); outputs are written atomically.
 *
 * @module
 */
import { join } from "node:path";
import { writeBytesAtomic, writeTextAtomic } from "../util/atomic_write.ts";
import type { Figure } from "./figure.ts";
import { scriptJson } from "../util/html_escape.ts";
import { plotlyBundlePath } from "./html.ts";
import { FIGURE_SIZES, type FigureSize, sizeFigure, type SizeName } from "./size_figure.ts";
import { type ChromiumSession, findChromium, noChromiumReason, withChromium } from "./chromium.ts";

/** Image formats. */
export type ImageFormat = "svg" | "png" | "pdf";

/** One figure to export, written as `<base>.<size>.<format>`. */
export interface ImageItem {
  /** The figure as a builder returned it. */
  fig: Figure;
  /** Output path without size and extension, e.g. `results/x/plots/frontier`. */
  base: string;
}

/** Options of {@link exportImages}. */
export interface ImageOptions {
  /** Sizes to write (default `paper` and `slide`). */
  sizes?: readonly SizeName[];
  /**
   * Formats to write at every size (default: svg and png, plus pdf at the `paper` size;
   * each PDF costs one more browser start).
   */
  formats?: readonly ImageFormat[];
  /** Draw the caption into the image (default true). */
  caption?: boolean;
  /** A browser binary to use instead of searching; `null`: none (images skipped). */
  browser?: string | null;
  /** Kill a browser run after this long (default 60 s). */
  timeoutMs?: number;
}

/** What {@link exportImages} wrote, and why images are missing when they are. */
export interface ImageResult {
  /** Written SVG files. */
  svg: string[];
  /** Written PNG files. */
  png: string[];
  /** Written PDF files. */
  pdf: string[];
  /** Why some or all images were not written (no browser, a browser failure). */
  skipped?: string;
}

interface Job {
  path: string;
  fig: Figure;
  size: FigureSize;
  formats: ImageFormat[];
}

/** The page that draws every job and writes `{id: dataUrl}` as base64 JSON into #out. */
function exportPage(jobs: readonly Job[]): string {
  const specs = jobs.map((j, id) => ({
    id,
    data: j.fig.data,
    layout: j.fig.layout,
    width: j.size.width,
    height: j.fig.layout.height,
    scale: j.size.scale,
    formats: j.formats.filter((f) => f !== "pdf").concat(j.formats.includes("pdf") ? ["svg"] : []),
  }));
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8">
<script src="${new URL(`file://${plotlyBundlePath()}`).href}"></script>
</head><body><pre id="out"></pre>
<script>
(async () => {
  const res = { images: {}, errors: [] };
  const specs = ${scriptJson(specs)};
  for (const s of specs) {
    const div = document.createElement("div");
    div.style.cssText = "position:absolute;left:-20000px;top:0";
    document.body.appendChild(div);
    try {
      await Plotly.newPlot(div, s.data, s.layout, { staticPlot: true });
      for (const f of [...new Set(s.formats)]) {
        res.images[s.id + "." + f] = await Plotly.toImage(div, {
          format: f, width: s.width, height: s.height, scale: f === "png" ? s.scale : 1,
        });
      }
    } catch (e) {
      res.errors.push("figure " + s.id + ": " + String(e && e.message || e));
    }
    Plotly.purge(div);
    div.remove();
  }
  const bytes = new TextEncoder().encode(JSON.stringify(res));
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  document.getElementById("out").textContent = "KIT-RESULT:" + btoa(bin) + ":KIT-END";
})();
</script></body></html>
`;
}

/** Bytes of base64 text. */
function decodeBase64(text: string): Uint8Array {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The SVG text of an `image/svg+xml` data URL. */
function svgText(url: string): string {
  const comma = url.indexOf(",");
  const head = url.slice(0, comma);
  const body = url.slice(comma + 1);
  return head.endsWith(";base64")
    ? new TextDecoder().decode(decodeBase64(body))
    : decodeURIComponent(body);
}

/** A page holding only the SVG, printed on a page of exactly its size. */
function pdfPage(svg: string, width: number, height: number): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><style>
@page { size: ${width}px ${height}px; margin: 0 }
html, body { margin: 0; padding: 0; width: ${width}px; height: ${height}px; overflow: hidden }
svg { display: block }
</style></head><body>${svg}</body></html>`;
}

/**
 * Export figures as SVG, PNG and PDF at the requested sizes (file names
 * `<base>.<size>.<format>`). PNGs are `width·scale × height·scale` pixels (`paper`:
 * 700 × 500, `slide`: 1280 × 720 for one-row figures).
 * @returns the written files; `skipped` says why images are missing (no Chromium, no
 *   `--allow-run`, a browser failure). Never throws for these.
 */
export async function exportImages(
  items: readonly ImageItem[],
  opts: ImageOptions = {},
): Promise<ImageResult> {
  const result: ImageResult = { svg: [], png: [], pdf: [] };
  const browser = opts.browser === undefined ? findChromium() : opts.browser;
  if (!browser) return { ...result, skipped: noChromiumReason() };
  const sizes = opts.sizes ?? ["paper", "slide"];
  const formats = (name: SizeName): ImageFormat[] =>
    opts.formats ? [...opts.formats] : name === "paper" ? ["svg", "png", "pdf"] : ["svg", "png"];
  const jobs: Job[] = items.flatMap((it) =>
    sizes.map((name) => ({
      path: `${it.base}.${name}`,
      fig: sizeFigure(it.fig, name, { caption: opts.caption }),
      size: FIGURE_SIZES[name],
      formats: formats(name),
    }))
  );
  if (!jobs.length) return result;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  try {
    return await withChromium(browser, (session) => draw(session, jobs, timeoutMs, result));
  } catch (e) {
    return { ...result, skipped: `image export failed: ${(e as Error).message}` };
  }
}

async function draw(
  session: ChromiumSession,
  jobs: readonly Job[],
  timeoutMs: number,
  result: ImageResult,
): Promise<ImageResult> {
  const page = join(session.dir, "export.html");
  await writeTextAtomic(page, exportPage(jobs));
  const run = await session.run(
    ["--virtual-time-budget=60000", "--dump-dom", new URL(`file://${page}`).href],
    timeoutMs,
  );
  if (!run.ok) return { ...result, skipped: run.reason };
  const found = /KIT-RESULT:([A-Za-z0-9+/=]*):KIT-END/.exec(run.stdout);
  if (!found) {
    const tail = run.stderr.trim().split("\n").slice(-3).join(" | ");
    return {
      ...result,
      skipped: `${session.browser} did not finish drawing the figures (plotly.js not loaded?)` +
        (tail ? `: ${tail}` : ""),
    };
  }
  const res = JSON.parse(new TextDecoder().decode(decodeBase64(found[1]!))) as {
    images: Record<string, string>;
    errors: string[];
  };
  const problems = [...res.errors];
  for (const [id, job] of jobs.entries()) {
    const svgUrl = res.images[`${id}.svg`];
    if (job.formats.includes("svg") && svgUrl) {
      await writeTextAtomic(`${job.path}.svg`, svgText(svgUrl));
      result.svg.push(`${job.path}.svg`);
    }
    const pngUrl = res.images[`${id}.png`];
    if (job.formats.includes("png") && pngUrl) {
      await writeBytesAtomic(
        `${job.path}.png`,
        decodeBase64(pngUrl.slice(pngUrl.indexOf(",") + 1)),
      );
      result.png.push(`${job.path}.png`);
    }
    if (job.formats.includes("pdf") && svgUrl) {
      const why = await printPdf(session, job, svgText(svgUrl), id, timeoutMs);
      if (why) problems.push(why);
      else result.pdf.push(`${job.path}.pdf`);
    }
  }
  if (problems.length) result.skipped = problems.join("; ");
  return result;
}

/** Print the SVG to `<job.path>.pdf`; returns why not, or undefined on success. */
async function printPdf(
  session: ChromiumSession,
  job: Job,
  svg: string,
  id: number,
  timeoutMs: number,
): Promise<string | undefined> {
  const page = join(session.dir, `pdf-${id}.html`);
  const out = join(session.dir, `pdf-${id}.pdf`);
  const height = job.fig.layout.height ?? job.size.height ?? 500;
  await writeTextAtomic(page, pdfPage(svg, job.size.width, height));
  const run = await session.run(
    ["--no-pdf-header-footer", `--print-to-pdf=${out}`, new URL(`file://${page}`).href],
    timeoutMs,
  );
  if (!run.ok) return `PDF ${job.path}.pdf: ${run.reason}`;
  const bytes = await Deno.readFile(out).catch(() => undefined);
  if (!bytes?.length) return `PDF ${job.path}.pdf: ${session.browser} wrote nothing`;
  await writeBytesAtomic(`${job.path}.pdf`, bytes);
  return undefined;
}
