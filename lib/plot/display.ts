/**
 * Showing figures and tables in a notebook on the Deno Jupyter kernel (`deno jupyter`).
 *
 * `Deno.jupyter` exists only inside the kernel (elsewhere its getter throws, although
 * `"jupyter" in Deno` is true), and its types are marked experimental, so it is typed
 * locally here and looked up with a guard. Outside the kernel the display functions do
 * nothing and return false, so library code and scripts can call them freely.
 *
 * A figure is sent as `application/vnd.plotly.v1+json` (drawn natively by JupyterLab's
 * plotly renderer and VS Code) with a `text/html` fallback for frontends without one. The
 * fallback carries the plotly.js bundle inline in the first figure of a kernel session
 * only (4.6 MB once, not per figure); later fallbacks wait for `window.Plotly`.
 *
 * The Deno 2.9 kernel can publish a cell's `status: idle` before it has finished sending a
 * message that large (measured: the 4.7 MB display arrived up to 1 s after it was sent, and
 * after idle in about 1 cell of 4 on a busy 2-core machine), and nbconvert and Jupyter
 * frontends drop outputs that arrive after idle. So the display that carries the bundle
 * waits {@link BUNDLE_SETTLE_MS} before returning (once per session); small messages were
 * never seen out of order.
 *
 * {@link liveFigure} shows a figure that is redrawn in place (training curves that grow
 * every iteration). The Deno 2.9 kernel sends `display(bundle, {raw: true, display_id,
 * update: true})` as an `update_display_data` message; Jupyter frontends replace the output
 * with that display id wherever it is (even in an earlier cell), and nbclient/nbconvert keep
 * only the last state in the saved notebook.
 *
 * @module
 */
import type { ColumnTable } from "arquero";
import type { Figure } from "./figure.ts";
import { PLOTLY_VERSION, plotlyBundle } from "./html.ts";
import { scriptJson } from "../util/html_escape.ts";
import { sizeFigure } from "./size_figure.ts";
import { formatTable, tableToHtml } from "../util/table_format.ts";

/** The part of `Deno.jupyter` (Deno 2.9) that the kit uses. */
export interface JupyterApi {
  /** Send a media bundle to the frontend; `raw: true` means "this is already a bundle". */
  display(
    obj: unknown,
    options?: { raw?: boolean; update?: boolean; display_id?: string },
  ): Promise<void>;
  /** Send a raw message on the IOPub channel (e.g. `update_display_data`). */
  broadcast(
    msgType: string,
    content: Record<string, unknown>,
    extra?: { metadata?: Record<string, unknown>; buffers?: Uint8Array[] },
  ): Promise<void>;
}

/** A Jupyter media bundle: mime type → data. */
export type MediaBundle = Record<string, string | object>;

/** `Deno.jupyter` when running inside the Deno kernel, else undefined. */
export function jupyter(): JupyterApi | undefined {
  if (!("jupyter" in Deno)) return undefined;
  try {
    return (Deno as unknown as { jupyter: JupyterApi }).jupyter;
  } catch {
    return undefined; // the getter throws outside `deno jupyter`
  }
}

let figureCount = 0;
let bundleSent = false;

/**
 * Milliseconds a display through `Deno.jupyter` waits after sending the figure that carries
 * the plotly.js bundle, so the kernel has sent it before the cell ends (see the module doc).
 */
export const BUNDLE_SETTLE_MS = 2000;

/**
 * The media bundle for a figure laid out at the `screen` size (caption included): plotly
 * JSON, an HTML fallback and a text summary.
 * @param inlinePlotly embed the plotly.js bundle in the HTML fallback.
 */
export function figureBundle(figure: Figure, inlinePlotly: boolean): MediaBundle {
  const fig = sizeFigure(figure, "screen");
  const id = `kit-plot-${Date.now().toString(36)}-${figureCount++}`;
  const h = typeof fig.layout.height === "number" ? fig.layout.height : 500;
  const target = JSON.stringify(id);
  const draw = `(function () {
  var fig = ${scriptJson(fig)};
  var tries = 0;
  (function draw() {
    var opts = { displaylogo: false };
    if (window.Plotly) return window.Plotly.newPlot(${target}, fig.data, fig.layout, opts);
    if (++tries < 200) setTimeout(draw, 50);
  })();
})();`;
  const html = (inlinePlotly ? `<script>${plotlyBundle()}</script>\n` : "") +
    `<div id="${id}" style="width:${fig.layout.width}px;height:${h}px"></div>\n<script>${draw}</script>`;
  const title = figure.layout.title?.text ?? "figure";
  return {
    "application/vnd.plotly.v1+json": { data: fig.data, layout: fig.layout },
    "text/html": html,
    "text/plain": `<plotly.js ${PLOTLY_VERSION} figure: ${title}, ${fig.data.length} traces>`,
  };
}

/** Options of the display functions. */
export interface DisplayOptions {
  /** Use this API instead of `Deno.jupyter` (for tests and other kernels). */
  api?: JupyterApi;
  /** Jupyter display id, to update the output in place later. */
  displayId?: string;
  /**
   * Wait this long after sending the figure that inlines plotly.js (default
   * {@link BUNDLE_SETTLE_MS} through `Deno.jupyter`, 0 with a given `api`).
   */
  settleMs?: number;
}

/**
 * Show a figure in the notebook.
 * @returns true when displayed, false outside the Jupyter kernel.
 */
export async function displayFigure(fig: Figure, opts: DisplayOptions = {}): Promise<boolean> {
  const api = opts.api ?? jupyter();
  if (!api) return false;
  await sendFigure(api, fig, displayOptions(opts), opts);
  return true;
}

/** Send a figure; the first of the session inlines plotly.js and then waits to settle. */
async function sendFigure(
  api: JupyterApi,
  fig: Figure,
  options: { raw: true; display_id?: string },
  opts: DisplayOptions,
): Promise<void> {
  const inline = !bundleSent;
  bundleSent = true;
  await api.display(figureBundle(fig, inline), options);
  const settleMs = opts.settleMs ?? (opts.api ? 0 : BUNDLE_SETTLE_MS);
  if (inline && settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
}

/**
 * Show a table in the notebook as HTML with an aligned Markdown text fallback, both from
 * the kit's table formatter (3 significant digits, blanks for missing values).
 * @param opts.limit most rows shown (default 20).
 * @param opts.digits significant digits (default 3).
 * @returns true when displayed, false outside the Jupyter kernel.
 */
export async function displayTable(
  table: ColumnTable,
  opts: DisplayOptions & { limit?: number; digits?: number } = {},
): Promise<boolean> {
  const api = opts.api ?? jupyter();
  if (!api) return false;
  const format = { limit: opts.limit ?? 20, digits: opts.digits ?? 3 };
  await api.display(
    {
      "text/html": tableToHtml(table, format),
      "text/plain": formatTable(table, format),
    },
    displayOptions(opts),
  );
  return true;
}

/** A figure on screen that can be redrawn in place; see {@link liveFigure}. */
export interface LiveFigure {
  /** The Jupyter display id of its output. */
  readonly displayId: string;
  /**
   * Replace the displayed figure with `fig`.
   * @returns true when sent, false outside the Jupyter kernel.
   */
  update(fig: Figure): Promise<boolean>;
}

let liveCount = 0;

/**
 * Show a figure under a display id and return a handle that redraws it in place, e.g. a
 * training curve updated from a trainer's `onRow` callback every iteration.
 *
 * Updates never inline plotly.js (4.6 MB per update would flood the kernel's channel, see
 * the module doc); their HTML fallback draws with the `window.Plotly` that the session's
 * first figure loaded. A saved notebook keeps only the last state, so in frontends without
 * the plotly renderer a live figure draws there only after some earlier figure of the
 * notebook (which carries the bundle): show a static figure first where that matters.
 * @param opts.displayId the display id (default: a fresh `kit-live-…` id).
 * @example
 * ```ts
 * import { liveFigure } from "./display.ts";
 * import { scatterFigure } from "./scatter.ts";
 * const fig = (n: number) => scatterFigure([n], [n], { title: "t", xTitle: "x", yTitle: "y" });
 * const live = await liveFigure(fig(0)); // outside the kernel: shows nothing
 * if (await live.update(fig(1))) throw new Error("no kernel here");
 * ```
 */
export async function liveFigure(fig: Figure, opts: DisplayOptions = {}): Promise<LiveFigure> {
  const api = opts.api ?? jupyter();
  const displayId = opts.displayId ?? `kit-live-${Date.now().toString(36)}-${liveCount++}`;
  if (api) await sendFigure(api, fig, { raw: true, display_id: displayId }, opts);
  return {
    displayId,
    async update(next: Figure): Promise<boolean> {
      if (!api) return false;
      await api.display(figureBundle(next, false), {
        raw: true,
        display_id: displayId,
        update: true,
      });
      return true;
    },
  };
}

function displayOptions(opts: DisplayOptions): { raw: true; display_id?: string } {
  return opts.displayId === undefined ? { raw: true } : { raw: true, display_id: opts.displayId };
}
