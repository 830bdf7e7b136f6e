import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import * as aq from "arquero";
import { findChromium } from "../lib/plot/chromium.ts";
import { exportImages } from "../lib/plot/image.ts";
import { writePlots } from "../lib/plot/report.ts";
import { frontierFigure } from "../lib/plot/frontier.ts";
import { sizeFigure } from "../lib/plot/size_figure.ts";

const chromium = findChromium();

const table = aq.table({
  method: ["ppo", "ppo", "ppo", "dpo", "dpo", "dpo", "bon", "bon"],
  beta: [0.5, 0.1, 0.05, 0.5, 0.1, 0.05, null, null],
  n: [null, null, null, null, null, null, 4, 16],
  kl: [0.3, 1.2, 2.5, 0.4, 1.5, 3.1, 1.6287, 2.8351],
  reward_gold: [0.2, 0.45, 0.55, 0.25, 0.5, 0.58, 0.4, 0.55],
  kl_kind: [
    "sampled",
    "sampled",
    "sampled",
    "sampled",
    "sampled",
    "sampled",
    "analytic",
    "analytic",
  ],
});
const oracle = [0.1, 0.5, 1, 2, 3].map((kl) => ({ kl, reward: 0.7 * (1 - Math.exp(-kl)) }));
const fig = frontierFigure(table, { label: ["beta", "n"], oracle, title: "Frontier title" });

/**
 * Throws unless `xml` is well formed: one root element, every tag closed in order,
 * attribute values quoted. (Deno has no DOMParser; this checks what a parser would.)
 */
function assertWellFormedXml(xml: string): void {
  const body = xml.replace(/<\?xml[^>]*\?>/, "").replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, "").replace(/<!DOCTYPE[^>]*>/i, "");
  const stack: string[] = [];
  let roots = 0;
  for (
    const m of body.matchAll(
      /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g,
    )
  ) {
    const [, close, name, , selfClose] = m;
    if (close) {
      assertEquals(stack.pop(), name, `closing </${name}> out of order`);
    } else if (!selfClose) {
      if (!stack.length) roots++;
      stack.push(name!);
    } else if (!stack.length) roots++;
  }
  assertEquals(stack, [], "unclosed elements");
  assertEquals(roots, 1, "one root element");
  // every "<" starts a tag the pattern above accepted (none is malformed or unquoted)
  const tags = body.match(/<[^>]*>/g) ?? [];
  const accepted = [
    ...body.matchAll(
      /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g,
    ),
  ];
  assertEquals(accepted.length, tags.length, "a tag with unquoted or malformed attributes");
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Uint8Array): [number, number] {
  assertEquals([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]); // signature
  assertEquals(new TextDecoder().decode(png.subarray(12, 16)), "IHDR");
  const view = new DataView(png.buffer, png.byteOffset);
  return [view.getUint32(16), view.getUint32(20)];
}

Deno.test("exportImages() reports a missing or broken browser instead of throwing", async () => {
  const none = await exportImages([{ fig, base: "/nonexistent/f" }], { browser: null });
  assertEquals([none.png, none.svg, none.pdf], [[], [], []]);
  assertStringIncludes(none.skipped ?? "", "no Chromium found");
  const broken = await exportImages([{ fig, base: "/nonexistent/f" }], {
    browser: "/nonexistent/chromium",
  });
  assertStringIncludes(broken.skipped ?? "", "could not run /nonexistent/chromium");
  const fails = await exportImages([{ fig, base: "/nonexistent/f" }], { browser: "/bin/false" });
  assertStringIncludes(fails.skipped ?? "", "/bin/false exited with code 1");
});

Deno.test("writePlots() without a browser still writes HTML and says why images are missing", async () => {
  const dir = await Deno.makeTempDir();
  const out = await writePlots(dir, { frontier: fig }, { images: false });
  assertEquals(out.html, [`${dir}/frontier.html`]);
  assertEquals(out.imagesSkipped, "images turned off");
  assertEquals((await Deno.stat(`${dir}/plotly.min.js`)).isFile, true);
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name: "exportImages() writes SVG, PNG and PDF drawn by plotly: figure only, at the asked size",
  ignore: chromium === undefined,
  fn: async () => {
    const dir = Deno.env.get("KIT_PNG_DIR") ?? await Deno.makeTempDir();
    const res = await exportImages([{ fig, base: `${dir}/frontier` }], { caption: false });
    assertEquals(res.skipped, undefined);
    assertEquals(res.png, [`${dir}/frontier.paper.png`, `${dir}/frontier.slide.png`]);
    assertEquals(res.svg, [`${dir}/frontier.paper.svg`, `${dir}/frontier.slide.svg`]);
    assertEquals(res.pdf, [`${dir}/frontier.paper.pdf`]); // PDF at the paper size only
    // PNG pixel size = CSS size × scale 2
    assertEquals(pngSize(await Deno.readFile(`${dir}/frontier.paper.png`)), [700, 500]);
    assertEquals(pngSize(await Deno.readFile(`${dir}/frontier.slide.png`)), [1280, 720]);
    for (const size of ["paper", "slide"]) {
      const svg = await Deno.readTextFile(`${dir}/frontier.${size}.svg`);
      assertWellFormedXml(svg);
      assert(svg.startsWith("<svg"), svg.slice(0, 40));
      assert(!svg.includes("modebar"), "toolbar in the image");
      assert(!/<h1|RLHF kit figures|<html/i.test(svg), "page content in the image");
      assertStringIncludes(svg, "PPO"); // the legend is drawn
    }
    // the paper figure leaves its title to the paper; the slide shows it, once
    assert(!(await Deno.readTextFile(`${dir}/frontier.paper.svg`)).includes("Frontier title"));
    const slide = await Deno.readTextFile(`${dir}/frontier.slide.svg`);
    assertEquals(slide.split("Frontier title").length - 1, 1);
    // one PDF page the size of the figure (Chromium rounds to within 1 pt)
    const pdf = new TextDecoder("latin1").decode(await Deno.readFile(`${dir}/frontier.paper.pdf`));
    assert(pdf.startsWith("%PDF-"), "a PDF");
    assertEquals(pdf.match(/\/Type\s*\/Page\b(?!s)/g)?.length, 1);
    const box = /\/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]/.exec(pdf);
    assert(box, "a MediaBox");
    assert(Math.abs(Number(box[1]) - 350 * 0.75) < 1, `width ${box[1]} pt`);
    assert(Math.abs(Number(box[2]) - 250 * 0.75) < 1, `height ${box[2]} pt`);
    // with its caption, a paper figure grows by the caption's lines, at the same scale
    const withCaption = await exportImages([{ fig, base: `${dir}/captioned` }], {
      sizes: ["paper"],
      formats: ["png"],
    });
    assertEquals(withCaption.png, [`${dir}/captioned.paper.png`]);
    const tall = sizeFigure(fig, "paper").layout.height!;
    assert(tall > 250, "caption lines added");
    assertEquals(pngSize(await Deno.readFile(`${dir}/captioned.paper.png`)), [700, 2 * tall]);
    if (!Deno.env.get("KIT_PNG_DIR")) await Deno.remove(dir, { recursive: true });
  },
});

/** Processes (not zombies) whose command line contains `needle`, from `ps`. */
async function processesNaming(needle: string): Promise<string[]> {
  const ps = await new Deno.Command("ps", { args: ["-eo", "pid=,stat=,args="], stdout: "piped" })
    .output();
  return new TextDecoder().decode(ps.stdout).split("\n")
    .filter((line) => line.includes(needle) && !/^\s*\d+\s+Z/.test(line));
}

for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
  Deno.test({
    name: `a ${signal} during export stops Chromium and removes its temp profile`,
    ignore: chromium === undefined || Deno.build.os !== "linux",
    fn: async () => {
      const dir = await Deno.makeTempDir();
      await new Deno.Command("mkfifo", { args: [`${dir}/never.js`] }).output();
      await Deno.writeTextFile(`${dir}/hang.html`, '<script src="never.js"></script>');
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("./_chromium_child.ts", import.meta.url).pathname,
          chromium!,
          `file://${dir}/hang.html`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      const session = /^dir (.+)$/m.exec(text)?.[1];
      assert(session, `no session dir: ${text}`);
      assert(session.includes(`kit-chromium-${child.pid}-`), session);
      // wait until the browser runs (it never finishes this page)
      for (let i = 0; i < 600 && !(await processesNaming(`${session}/profile`)).length; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert((await processesNaming(`${session}/profile`)).length > 0, "the browser never started");
      child.kill(signal);
      const status = await child.status;
      let rest = "";
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += r.value;
      const stderr = await new Response(child.stderr).text();
      assertEquals(status.code, code, stderr);
      assert(!rest.includes("finished"), "the export was not interrupted");
      assertEquals(await processesNaming(session), [], "browser processes left behind");
      const left = [...Deno.readDirSync("/tmp")].filter((e) =>
        e.name.startsWith(`kit-chromium-${child.pid}-`)
      );
      assertEquals(left.map((e) => e.name), [], "temp profile left behind");
      await Deno.remove(dir, { recursive: true });
    },
  });
}
