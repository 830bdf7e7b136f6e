/**
 * A report page: one offline HTML file of sections — headings, text, tables and figures —
 * with a table of contents. Figures are laid out at the `screen` size with their captions
 * (`size_figure.ts`) and drawn by the pinned plotly.js, which the page embeds or loads from
 * a relative path (a results directory writes `plots/plotly.min.js` once and every page
 * shares it). Nothing is fetched from the network.
 *
 * The page only arranges what it is given: tables arrive as HTML built with the kit's
 * table formatter (`tableToHtml`, which escapes text), text as plain text.
 *
 * @module
 */
import type { Figure } from "./figure.ts";
import { drawFiguresScript, pageHead, PLOTLY_FILE, plotlyScriptTag } from "./html.ts";
import { sizeFigure } from "./size_figure.ts";
import { escapeHtml } from "../util/html_escape.ts";
import { writeTextAtomic } from "../util/atomic_write.ts";

/** One block of a section, drawn in order. */
export type ReportBlock =
  | { /** Plain text, escaped; blank lines separate paragraphs. */ text: string }
  | { /** A figure, drawn with its caption. */ figure: Figure }
  | {
    /**
     * HTML the caller built from escaped parts (e.g. `tableToHtml`), inserted as it is.
     * Links in it must be relative to the page.
     */
    html: string;
  };

/** A section of the report: a heading, an anchor and its blocks. */
export interface ReportSection {
  /** Heading (plain text). */
  title: string;
  /** Anchor id (letters, digits, `-`, `_`), linked from the table of contents. */
  id: string;
  /** The section's content, in order. */
  blocks: readonly ReportBlock[];
}

/** Options of {@link reportPage}. */
export interface ReportPageOptions {
  /** Page title and top heading (plain text). */
  title: string;
  /** One line under the heading (plain text). */
  subtitle?: string;
  /**
   * Where the page gets plotly.js: `inline` (a self-contained file, 4.6 MB) or a path
   * relative to the page, e.g. `plots/plotly.min.js` (default: {@link PLOTLY_FILE} beside
   * the page).
   */
  plotly?: "inline" | { src: string };
}

const ID = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** The report page's style rules. */
const REPORT_CSS =
  `body { font-family: system-ui, sans-serif; margin: 1em 2em; max-width: 1100px; color: #222; }
h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
.fig { margin: 1em 0 2em; }
table.kit-table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0 1em; }
table.kit-table th, table.kit-table td { border: 1px solid #ddd; padding: 2px 8px; }
table.kit-table th { background: #f4f4f4; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.warn { color: #a00; font-weight: bold; }
nav li { display: inline; margin-right: 1.2em; }
nav ul { padding-left: 0; }`;

/**
 * The report as one HTML page (see the module doc).
 * @throws RangeError when a section id is not a valid anchor or is used twice; KitError
 *   when plotly.js is needed inline and is missing.
 * @example
 * ```ts
 * import { reportPage } from "./report_page.ts";
 * const html = reportPage(
 *   [{ title: "Notes", id: "notes", blocks: [{ text: "a < b" }] }],
 *   { title: "Sweep", plotly: { src: "plots/plotly.min.js" } },
 * );
 * if (!html.includes('<a href="#notes">Notes</a>') || !html.includes("a &lt; b")) throw new Error();
 * ```
 */
export function reportPage(
  sections: readonly ReportSection[],
  opts: ReportPageOptions,
): string {
  const ids = new Set<string>();
  for (const s of sections) {
    if (!ID.test(s.id) || ids.has(s.id)) {
      throw new RangeError(`section id ${JSON.stringify(s.id)} is not a unique anchor name`);
    }
    ids.add(s.id);
  }
  const figures: Figure[] = [];
  const body = sections.map((s) => {
    const blocks = s.blocks.map((b) => {
      if ("figure" in b) {
        const f = sizeFigure(b.figure, "screen");
        figures.push(f);
        return `<div id="fig-${figures.length - 1}" class="fig" ` +
          `style="width:${f.layout.width}px;height:${f.layout.height}px"></div>`;
      }
      if ("html" in b) return b.html;
      return b.text.split(/\n\s*\n/).map((p) => `<p>${escapeHtml(p.trim())}</p>`).join("\n");
    });
    return `<section id="${s.id}">\n<h2>${escapeHtml(s.title)}</h2>\n${blocks.join("\n")}\n` +
      `</section>`;
  });
  const toc = sections.map((s) => `<li><a href="#${s.id}">${escapeHtml(s.title)}</a></li>`);
  const script = figures.length ? plotlyScriptTag(opts.plotly ?? { src: PLOTLY_FILE }) : "";
  const draw = !figures.length ? "" : drawFiguresScript(figures, {
    where: "afterbegin",
    html: `<p class="warn">plotly.js did not load: keep the plots/ folder beside this page.</p>`,
  });
  const title = escapeHtml(opts.title);
  return `${pageHead(title, REPORT_CSS, script)}
<body>
<h1>${title}</h1>
${opts.subtitle ? `<p>${escapeHtml(opts.subtitle)}</p>\n` : ""}<nav><ul>${toc.join("")}</ul></nav>
${body.join("\n")}
${draw}
</body>
</html>
`;
}

/** Write {@link reportPage} to `path` atomically. */
export async function writeReportPage(
  path: string,
  sections: readonly ReportSection[],
  opts: ReportPageOptions,
): Promise<void> {
  await writeTextAtomic(path, reportPage(sections, opts));
}
