/**
 * reportPage(): sections with a table of contents, escaped text, figures drawn with their
 * captions by a plotly.js that is embedded or loaded from a relative path.
 */
import { join } from "node:path";
import { reportPage, writeReportPage } from "../lib/plot/report_page.ts";
import { PLOTLY_VERSION } from "../lib/plot/html.ts";
import type { Figure } from "../lib/plot/figure.ts";
import { pageLinks, unresolvedLinks } from "./_offline_links.ts";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./assert.ts";

const fig: Figure = {
  data: [{ type: "scatter", mode: "markers", name: "PPO", x: [1], y: [2] }],
  layout: { title: { text: "a figure" }, meta: { caption: "Points: one seed each." } },
};

/** The figures a page draws (its `const figures = […]`). */
function drawnFigures(html: string): Figure[] {
  const m = /const figures = (\[.*\]);\n/.exec(html);
  return m ? JSON.parse(m[1]!) : [];
}

Deno.test("reportPage() lays out sections, anchors, escaped text and figures", () => {
  const html = reportPage([
    { title: "Frontier", id: "frontier", blocks: [{ figure: fig }, { text: "a < b\n\nnext" }] },
    {
      title: "Table & more",
      id: "table",
      blocks: [{ html: "<table><tr><td>1</td></tr></table>" }],
    },
  ], { title: "sweep <x>", subtitle: "preset tiny", plotly: { src: "plots/plotly.min.js" } });
  assertStringIncludes(html, "<title>sweep &lt;x&gt;</title>");
  assertStringIncludes(html, '<li><a href="#frontier">Frontier</a></li>');
  assertStringIncludes(html, '<li><a href="#table">Table &amp; more</a></li>');
  assertStringIncludes(html, "<p>a &lt; b</p>\n<p>next</p>");
  assertStringIncludes(html, "<table><tr><td>1</td></tr></table>");
  assertStringIncludes(html, `content="rlhf-kit, plotly.js ${PLOTLY_VERSION}"`);
  assertEquals(pageLinks(html), ["plots/plotly.min.js", "#frontier", "#table"]);
  // the figure is laid out at the screen size, its caption drawn under the plot
  const [drawn] = drawnFigures(html);
  assertEquals(drawn?.layout.width, 900);
  const notes = (drawn?.layout.annotations ?? []) as { text: string }[];
  assert(notes.some((a) => a.text === "Points: one seed each."), JSON.stringify(notes));
  assertStringIncludes(html, '<div id="fig-0" class="fig"');
});

Deno.test("reportPage() embeds plotly.js when asked, and loads none without figures", () => {
  const inline = reportPage([{ title: "F", id: "f", blocks: [{ figure: fig }] }], {
    title: "t",
    plotly: "inline",
  });
  assertEquals(pageLinks(inline).filter((l) => !l.startsWith("#")), []);
  assertStringIncludes(inline, `plotly.js v${PLOTLY_VERSION}`);
  const bare = reportPage([{ title: "T", id: "t", blocks: [{ text: "x" }] }], { title: "t" });
  assert(!bare.includes("<script"), "a page without figures loads no script");
});

Deno.test("reportPage() refuses an id that is not a unique anchor", () => {
  const s = { title: "A", id: "a", blocks: [] };
  assertThrows(() => reportPage([s, s], { title: "t" }), RangeError, 'section id "a"');
  assertThrows(() => reportPage([{ ...s, id: "a b" }], { title: "t" }), RangeError, "a b");
});

Deno.test("unresolvedLinks() finds absolute URLs, missing files and missing anchors", async () => {
  const dir = await Deno.makeTempDir({ prefix: "report-page-" });
  try {
    await Deno.mkdir(join(dir, "plots"));
    await Deno.writeTextFile(join(dir, "plots", "plotly.min.js"), "");
    const page = join(dir, "report.html");
    await writeReportPage(page, [{
      title: "F",
      id: "f",
      blocks: [{ figure: fig }, {
        html: '<a href="plots/missing.png">x</a> <a href="https://cdn.plot.ly/x.js">y</a> ' +
          '<a href="#nowhere">z</a>',
      }],
    }], { title: "t", plotly: { src: "plots/plotly.min.js" } });
    assertEquals(await unresolvedLinks(page), [
      "plots/missing.png: no such file beside the page",
      "https://cdn.plot.ly/x.js: not a relative path",
      "#nowhere: no element has this id",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
