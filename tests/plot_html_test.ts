import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import * as aq from "arquero";
import {
  figureHtml,
  PLOTLY_FILE,
  PLOTLY_VERSION,
  plotlyBundle,
  plotlyBundlePath,
  writeFigureHtml,
  writePlotlyBundle,
} from "../lib/plot/html.ts";
import {
  displayFigure,
  displayTable,
  figureBundle,
  jupyter,
  type JupyterApi,
} from "../lib/plot/display.ts";
import { scatterFigure } from "../lib/plot/scatter.ts";
import { sizeFigure } from "../lib/plot/size_figure.ts";

const fig = scatterFigure([1, 2], [3, 4], {
  title: "RM </script> vs gold",
  xTitle: "gold",
  yTitle: "rm",
});

Deno.test("figureHtml() embeds the pinned plotly bundle and the figure JSON", () => {
  const html = figureHtml([fig, fig], { title: "Sweep <beta>" });
  assertStringIncludes(html, `plotly.js v${PLOTLY_VERSION}`);
  assertStringIncludes(html, "window.Plotly = Plotly");
  assert(html.length > plotlyBundle().length, "bundle inline");
  assertStringIncludes(html, "<title>Sweep &lt;beta&gt;</title>");
  assertStringIncludes(html, '<div id="fig-0"');
  assertStringIncludes(html, '<div id="fig-1"');
  // the figure JSON, with "<" escaped so a title cannot close the script
  assertStringIncludes(html, '"text":"RM \\u003c/script> vs gold"');
  assertEquals(html.split("</script>").length - 1, 2);
  const json = /const figures = (.*);\n/.exec(html)?.[1];
  const screen = sizeFigure(fig, "screen");
  assertEquals(JSON.parse(json!), [screen, screen]);
  assertEquals(screen.layout.width, 900);
  // nothing outside the inline bundle loads from the network
  assert(!/src="http/.test(html.replace(plotlyBundle(), "")), "no network fetch");
});

Deno.test("writeFigureHtml() writes the page atomically", async () => {
  const dir = await Deno.makeTempDir();
  await writeFigureHtml(`${dir}/plots/f.html`, fig, "one");
  const html = await Deno.readTextFile(`${dir}/plots/f.html`);
  assertStringIncludes(html, "<title>one</title>");
  assertEquals([...Deno.readDirSync(`${dir}/plots`)].map((e) => e.name), ["f.html"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("pages with plotly 'beside' share one plotly.min.js, written once", async () => {
  const dir = await Deno.makeTempDir();
  await writeFigureHtml(`${dir}/a.html`, fig, { title: "a", plotly: "beside" });
  const first = await Deno.stat(`${dir}/${PLOTLY_FILE}`);
  await writeFigureHtml(`${dir}/b.html`, fig, { title: "b", plotly: "beside" });
  const second = await Deno.stat(`${dir}/${PLOTLY_FILE}`);
  // the second page reused the file: same inode and mtime
  assertEquals([second.ino, second.mtime?.getTime()], [first.ino, first.mtime?.getTime()]);
  assertEquals(first.size, (await Deno.stat(plotlyBundlePath())).size);
  for (const page of ["a", "b"]) {
    const html = await Deno.readTextFile(`${dir}/${page}.html`);
    assertStringIncludes(html, `<script src="${PLOTLY_FILE}"></script>`);
    assert(html.length < 50_000, `page ${page} is ${html.length} bytes: bundle inlined?`);
  }
  // a stale bundle is replaced
  await Deno.writeTextFile(`${dir}/${PLOTLY_FILE}`, "/*! plotly.js v1.0.0 */");
  await writePlotlyBundle(dir);
  assertEquals((await Deno.stat(`${dir}/${PLOTLY_FILE}`)).size, first.size);
  // a caller-given path
  assertStringIncludes(
    figureHtml(fig, { plotly: { src: "../js/p.js" } }),
    '<script src="../js/p.js">',
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("display functions are no-ops outside the Jupyter kernel", async () => {
  assertEquals(jupyter(), undefined);
  assertEquals(await displayFigure(fig), false);
  assertEquals(await displayTable(aq.table({ a: [1] })), false);
});

Deno.test("displayFigure() sends the plotly mime bundle, inlining plotly.js only once", async () => {
  const sent: { obj: Record<string, unknown>; options: unknown }[] = [];
  const api: JupyterApi = {
    display: (obj, options) => {
      sent.push({ obj: obj as Record<string, unknown>, options });
      return Promise.resolve();
    },
    broadcast: async () => {},
  };
  assertEquals(await displayFigure(fig, { api }), true);
  assertEquals(await displayFigure(fig, { api, displayId: "d1" }), true);
  const [first, second] = sent as [typeof sent[0], typeof sent[0]];
  const screen = sizeFigure(fig, "screen");
  assertEquals(first.obj["application/vnd.plotly.v1+json"], {
    data: screen.data,
    layout: screen.layout,
  });
  assertEquals([first.options, second.options], [{ raw: true }, { raw: true, display_id: "d1" }]);
  const html1 = first.obj["text/html"] as string, html2 = second.obj["text/html"] as string;
  assertStringIncludes(html1, `plotly.js v${PLOTLY_VERSION}`);
  assert(!html2.includes("window.Plotly = Plotly"), "bundle sent twice");
  assertStringIncludes(html2, "window.Plotly.newPlot(");
  assertStringIncludes(first.obj["text/plain"] as string, "RM </script> vs gold, 1 traces");
  // a bundle without inlining is small
  assert((figureBundle(fig, false)["text/html"] as string).length < 5000);
});

Deno.test("displayTable() sends the kit's HTML table and an aligned Markdown fallback", async () => {
  let got: Record<string, string> = {};
  const api: JupyterApi = {
    display: (obj) => {
      got = obj as Record<string, string>;
      return Promise.resolve();
    },
    broadcast: async () => {},
  };
  const t = aq.table({ method: ["ppo", "dpo", "bon"], reward: [1.23456, null, 3] });
  assertEquals(await displayTable(t, { api, limit: 2 }), true);
  assertStringIncludes(got["text/html"]!, "<table");
  assertStringIncludes(got["text/html"]!, "(2 of 3 rows)");
  assertStringIncludes(got["text/html"]!, '<td style="text-align:right">1.23</td>');
  assert(!got["text/html"]!.includes("null"), "missing values are blank");
  assert(!got["text/html"]!.includes("bon"), "limit respected");
  assertEquals(
    got["text/plain"]!,
    "| method | reward |\n| ------ | -----: |\n| ppo    |   1.23 |\n| dpo    |        |\n" +
      "(2 of 3 rows)",
  );
});
