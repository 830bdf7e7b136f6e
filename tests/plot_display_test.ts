import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { type JupyterApi, liveFigure } from "../lib/plot/display.ts";
import { scatterFigure } from "../lib/plot/scatter.ts";
import { sizeFigure } from "../lib/plot/size_figure.ts";

const figAt = (n: number) =>
  scatterFigure([0, n], [0, n], { title: `step ${n}`, xTitle: "x", yTitle: "y" });

/** A fake `Deno.jupyter` that records what would be sent. */
function fakeApi() {
  const sent: { obj: Record<string, unknown>; options: Record<string, unknown> }[] = [];
  const api: JupyterApi = {
    display: (obj, options) => {
      sent.push({ obj: obj as Record<string, unknown>, options: { ...options } });
      return Promise.resolve();
    },
    broadcast: async () => {},
  };
  return { api, sent };
}

Deno.test("liveFigure() displays under a display id and updates that output in place", async () => {
  const { api, sent } = fakeApi();
  const live = await liveFigure(figAt(0), { api, displayId: "curves" });
  assertEquals(live.displayId, "curves");
  assertEquals(await live.update(figAt(1)), true);
  assertEquals(await live.update(figAt(2)), true);
  assertEquals(sent.map((s) => s.options), [
    { raw: true, display_id: "curves" },
    { raw: true, display_id: "curves", update: true },
    { raw: true, display_id: "curves", update: true },
  ]);
  const plotly = (i: number) => sent[i]!.obj["application/vnd.plotly.v1+json"];
  // the figure as laid out for the screen: fixed width, caption and fonts
  const screen = (n: number) => sizeFigure(figAt(n), "screen");
  assertEquals(plotly(0), { data: screen(0).data, layout: screen(0).layout });
  assertEquals(plotly(2), { data: screen(2).data, layout: screen(2).layout });
  assertStringIncludes(sent[2]!.obj["text/plain"] as string, "step 2");
});

Deno.test("only a session's first figure inlines plotly.js; live updates never do", async () => {
  // a fresh copy of the module: a kernel session in which no figure has been shown yet
  const fresh: typeof import("../lib/plot/display.ts") = await import(
    `../lib/plot/display.ts?session=${crypto.randomUUID()}`
  );
  const { api, sent } = fakeApi();
  const inlined = (i: number) =>
    (sent[i]!.obj["text/html"] as string).includes("window.Plotly = Plotly");
  const first = await fresh.liveFigure(figAt(0), { api });
  await first.update(figAt(1));
  const second = await fresh.liveFigure(figAt(0), { api });
  await second.update(figAt(1));
  await fresh.displayFigure(figAt(3), { api });
  assertEquals(sent.map((_, i) => inlined(i)), [true, false, false, false, false]);
  assert(first.displayId !== second.displayId, "fresh display ids");
  assert(first.displayId.startsWith("kit-live-"), first.displayId);
});

Deno.test("the display that inlines plotly.js waits settleMs before returning", async () => {
  const fresh: typeof import("../lib/plot/display.ts") = await import(
    `../lib/plot/display.ts?session=${crypto.randomUUID()}`
  );
  const { api, sent } = fakeApi();
  const tick = (ms: number) => new Promise<string>((r) => setTimeout(() => r("timer"), ms));
  const shown = (p: Promise<boolean>) => p.then(() => "shown");
  // the bundle is sent at once, but the call returns only after the settle time
  const first = shown(fresh.displayFigure(figAt(0), { api, settleMs: 300 }));
  assertEquals(await Promise.race([first, tick(100)]), "timer");
  assertEquals(sent.length, 1);
  assertEquals(await first, "shown");
  // later figures are small and return at once
  const second = shown(fresh.displayFigure(figAt(1), { api, settleMs: 300 }));
  assertEquals(await Promise.race([second, tick(200)]), "shown");
  await tick(200); // let the losing timer fire (no leaked timers)
  assertEquals(fresh.BUNDLE_SETTLE_MS > 0, true);
});

Deno.test("liveFigure() does nothing outside the Jupyter kernel", async () => {
  const live = await liveFigure(figAt(0));
  assertEquals(await live.update(figAt(1)), false);
});
