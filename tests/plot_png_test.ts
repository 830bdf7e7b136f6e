import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { findChromium, renderPng } from "../lib/plot/png.ts";
import { writeFigureHtml } from "../lib/plot/html.ts";
import { frontierFigure } from "../lib/plot/frontier.ts";
import * as aq from "arquero";

const chromium = findChromium();

Deno.test({
  name: "renderPng() reports that no browser is installed instead of throwing",
  ignore: chromium !== undefined,
  fn: async () => {
    const r = await renderPng("/nonexistent.html", "/tmp/x.png");
    assertEquals(r.ok, false);
    if (!r.ok) assertStringIncludes(r.reason, "no Chromium found");
  },
});

Deno.test("renderPng() reports a browser that cannot be started", async () => {
  const r = await renderPng("/nonexistent.html", "/tmp/x.png", {
    browser: "/nonexistent/chromium",
  });
  assertEquals(r.ok, false);
  if (!r.ok) assertStringIncludes(r.reason, "could not run /nonexistent/chromium");
});

Deno.test("renderPng() reports a browser that fails", async () => {
  const r = await renderPng("/nonexistent.html", "/tmp/never.png", { browser: "/bin/false" });
  assertEquals(r.ok, false);
  if (!r.ok) assertStringIncludes(r.reason, "/bin/false exited with code 1");
});

Deno.test({
  name: "renderPng() screenshots a figure page with headless Chromium",
  ignore: chromium === undefined,
  fn: async () => {
    const dir = Deno.env.get("KIT_PNG_DIR") ?? await Deno.makeTempDir();
    const table = aq.table({
      method: ["ppo", "ppo", "ppo", "dpo", "dpo", "dpo"],
      beta: [0.5, 0.1, 0.05, 0.5, 0.1, 0.05],
      kl: [0.3, 1.2, 2.5, 0.4, 1.5, 3.1],
      reward_gold: [0.2, 0.45, 0.55, 0.25, 0.5, 0.58],
    });
    const oracle = [0.1, 0.5, 1, 2, 3].map((kl) => ({ kl, reward: 0.7 * (1 - Math.exp(-kl)) }));
    await writeFigureHtml(`${dir}/frontier.html`, frontierFigure(table, { label: "beta", oracle }));
    const r = await renderPng(`${dir}/frontier.html`, `${dir}/frontier.png`);
    assert(r.ok, r.ok ? "" : r.reason);
    const png = await Deno.readFile(`${dir}/frontier.png`);
    assertEquals([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]); // PNG signature
    assert(png.length > 10_000, `suspiciously small PNG: ${png.length} bytes`);
    if (!Deno.env.get("KIT_PNG_DIR")) await Deno.remove(dir, { recursive: true });
  },
});
