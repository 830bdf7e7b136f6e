/**
 * What a sweep leaves for a reader, end to end with two `tiny` sweeps that differ in one
 * field (`--dpo.lr`), run as `deno task sweep` runs: its terminal lines (each run trained or
 * cached with its numbers, the sweep's tally, the total wall time), its manifest with the
 * time table, `gao_fits.csv`, a `report.html` whose every link and script resolves offline
 * (also when `deno task plots` rebuilds it, shared or single-file), and `deno task compare`
 * of the two sweeps telling them apart: legends name each sweep, colours follow the method,
 * line dash the sweep, and the config differences name the field.
 */
import { join } from "node:path";
import { readCsvTable } from "../lib/sweep/results_table.ts";
import type { Figure } from "../lib/plot/figure.ts";
import { METHOD_STYLES } from "../lib/plot/style.ts";
import type { SweepManifest } from "../experiments/canonical/sweep_manifest.ts";
import { runTask } from "./_subprocess.ts";
import { runSweep, tinyRunIds } from "./_sweep_process.ts";
import { unresolvedLinks } from "./_offline_links.ts";
import { assert, assertEquals, assertGreater, assertStringIncludes } from "./assert.ts";

/** The two sweeps: `a` at the preset's DPO learning rate, `b` at another. */
const GRID = ["--ppo.evalEvery", "1"];
const B_FIELD = ["--dpo.lr", "0.002"];

interface Sweeps {
  results: string;
  a: string;
  b: string;
  first: { stdout: string; stderr: string };
}
let sweeps: Promise<Sweeps> | undefined;
function twoSweeps(): Promise<Sweeps> {
  sweeps ??= (async () => {
    const results = await Deno.makeTempDir({ prefix: "sweep-report-" });
    const [ra, rb] = await Promise.all([
      runSweep(join(results, "a"), [...GRID, "--jobs", "1"]),
      runSweep(join(results, "b"), [...GRID, ...B_FIELD, "--jobs", "1"]),
    ]);
    assertEquals([ra.code, rb.code], [0, 0], `${ra.stderr}\n----\n${rb.stderr}`);
    return {
      results,
      a: join(results, "a", "canonical_tiny"),
      b: join(results, "b", "canonical_tiny"),
      first: ra,
    };
  })();
  return sweeps;
}

const readManifest = async (root: string) =>
  JSON.parse(await Deno.readTextFile(join(root, "manifest.json"))) as SweepManifest;

/** The figures a page draws (its `const figures = […]`). */
async function drawnFigures(page: string): Promise<Figure[]> {
  const m = /const figures = (\[.*\]);\n/.exec(await Deno.readTextFile(page));
  assert(m, `${page} draws no figures`);
  return JSON.parse(m[1]!);
}

Deno.test({
  name: "a sweep says what happened, writes its manifest and a report that works offline",
  sanitizeResources: false,
  fn: async () => {
    const { a, first } = await twoSweeps();
    const ids = Object.values(await tinyRunIds(GRID));
    // the terminal: each run trained (its time and numbers), the tally, the total
    for (const id of ids) assertStringIncludes(first.stderr, `done ${id} · trained in `);
    assert(/done \S+ · trained in [\d.]+s · gold -?[\d.e-]+ · proxy /.test(first.stderr));
    assertStringIncludes(first.stderr, "sweep 6/6 runs · 6 trained, 0 cached, 0 failed · ");
    assertStringIncludes(first.stderr, "upstream stages ready · data ");
    assertStringIncludes(first.stdout, `report: ${join(a, "report.html")}\n`);
    assertStringIncludes(first.stdout, "runs: 6 (6 trained, 0 cached, 0 failed) · ");
    assert(/\ntotal wall time: [\d.]+s\n$/.test(first.stdout), first.stdout.slice(-300));

    // the manifest: provenance and where the time went
    const m = await readManifest(a);
    assertEquals([m.experiment, m.preset, m.jobs], ["canonical", "tiny", 1]);
    assertEquals(m.stages.map((s) => [s.stage, s.cached]), [
      ["data", false],
      ["base", false],
      ["sft", false],
      ["prefs", false],
      ["rm", false],
      ["refs", false],
    ]);
    assert(m.stages.every((s) => typeof s.seconds === "number" && s.seconds >= 0));
    assertEquals(m.runs.map((r) => r.run_id).sort(), [...ids].sort());
    assert(m.runs.every((r) => r.status === "trained" && r.seconds! > 0), JSON.stringify(m.runs));
    const sum = m.runs.reduce((s, r) => s + r.seconds!, 0);
    assertEquals(+m.runSeconds.sum.toFixed(9), +sum.toFixed(9));
    const run = JSON.parse(await Deno.readTextFile(join(a, ids[0]!, "manifest.json")));
    assertEquals([m.backend, m.device, m.kit.commit], [run.backend, run.device, run.kit.commit]);
    assertGreater(m.machine.cpus, 0);

    // the fits: PPO from its checkpoints, best-of-n from its n grid (tiny has n = 1, 4)
    const fits = await readCsvTable(join(a, "gao_fits.csv"));
    assertEquals(fits.columnNames(), [
      "method",
      "form",
      "alpha",
      "beta",
      "r2",
      "points",
      "baseline_gold",
      "note",
    ]);
    assertEquals(fits.array("method"), ["ppo", "dpo", "bon"]);
    // summary_by_method.csv lists the methods in the kit's order, as summary.csv does
    assertEquals(
      [...new Set((await readCsvTable(join(a, "summary_by_method.csv"))).array("method"))],
      ["ppo", "dpo", "bon"],
    );

    // the report: every link and script resolves offline; each part is there
    const page = join(a, "report.html");
    assertEquals(await unresolvedLinks(page), []);
    const html = await Deno.readTextFile(page);
    assertStringIncludes(html, '<script src="plots/plotly.min.js"></script>');
    for (const id of ["frontier", "overoptimisation", "summary", "curves", "samples"]) {
      assertStringIncludes(html, `<section id="${id}">`);
    }
    for (const id of ["config", "manifest", "files"]) assertStringIncludes(html, `id="${id}"`);
    assertStringIncludes(html, "Gao et al. (2023) fits");
    assertStringIncludes(html, "<td>ppo.evalEvery</td>"); // the command line's change
    assertEquals(html.match(/<td>(best|median|worst)<\/td>/g)?.length, 9); // 3 methods × 3
    const [frontier] = await drawnFigures(page);
    const envelopes = frontier!.data.filter((t) => t.meta?.role === "envelope");
    assertEquals(envelopes.map((t) => t.meta?.method), ["ppo", "dpo"]);

    // the same sweep again, in worker processes: every run and stage from the cache
    const again = await runSweep(join(a, ".."), [...GRID, "--jobs", "2"]);
    assertEquals(again.code, 0, again.stderr);
    for (const id of ids) assertStringIncludes(again.stderr, `done ${id} · cached · gold `);
    assertStringIncludes(again.stderr, "sweep 6/6 runs · 0 trained, 6 cached, 0 failed · ");
    const cached = await readManifest(a);
    assert(cached.stages.every((s) => s.cached), JSON.stringify(cached.stages));
    assert(cached.runs.every((r) => r.status === "cached"), JSON.stringify(cached.runs));
    assertEquals(cached.runSeconds.sum, 0);
  },
});

Deno.test({
  name: "deno task plots rebuilds the report (single-file when asked) and a lost manifest",
  sanitizeResources: false,
  fn: async () => {
    const { b } = await twoSweeps();
    const page = join(b, "report.html");
    await Deno.remove(join(b, "manifest.json"));
    await Deno.remove(page);
    const single = await runTask("plots", [b, "--single-file"]);
    assertEquals(single.code, 0, single.stderr);
    assertStringIncludes(single.stdout, `report: ${page}\n`);
    const html = await Deno.readTextFile(page);
    assert(!/<script src=/.test(html), "a single-file report loads no script");
    assertGreater(html.length, 4e6); // plotly.js inside
    assertEquals(await unresolvedLinks(page), []);
    // the manifest, rebuilt from the runs' own
    const m = await readManifest(b);
    assertEquals([m.rebuilt, m.preset, m.runs.length], [true, "tiny", 6]);
    assertStringIncludes(html, "Rebuilt from the runs' own manifests");
    const shared = await runTask("plots", [b]);
    assertEquals(shared.code, 0, shared.stderr);
    assertStringIncludes(await Deno.readTextFile(page), '<script src="plots/plotly.min.js">');
    assertEquals(await unresolvedLinks(page), []);
  },
});

Deno.test({
  name: "deno task compare tells two sweeps apart: labels, colour by method, dash by sweep",
  sanitizeResources: false,
  fn: async () => {
    const { results, a, b } = await twoSweeps();
    const out = join(results, "compare", "report.html");
    const res = await runTask("compare", [a, b, "--label", "base,fast-dpo", "--out", out]);
    assertEquals(res.code, 0, res.stderr);
    assertStringIncludes(res.stdout, `report: ${out}`);
    assertEquals(await unresolvedLinks(out), []);
    const [frontier, over, curves] = await drawnFigures(out);
    const main = frontier!.data.filter((t) => !t.meta?.role);
    assertEquals(main.map((t) => t.name.split("<br>")[0]), [
      "PPO · base",
      "PPO · fast-dpo",
      "DPO · base",
      "DPO · fast-dpo",
      "best-of-n · base",
      "best-of-n · fast-dpo",
    ]);
    for (const t of main) {
      assertEquals(t.line?.color, METHOD_STYLES[t.meta!.method!]!.color, t.name);
      assertEquals(t.line?.dash, t.meta?.series === "base" ? "solid" : "dash", t.name);
    }
    assert(over!.data.some((t) => t.name === "DPO · fast-dpo"));
    const curveNames = new Set(curves!.data.filter((t) => t.showlegend).map((t) => t.name));
    assertEquals([...curveNames].sort(), [
      "DPO · base",
      "DPO · fast-dpo",
      "PPO · base",
      "PPO · fast-dpo",
    ]);
    // the config differences: the one field the sweeps differ in
    const html = await Deno.readTextFile(out);
    const section = html.slice(
      html.indexOf('<section id="config">'),
      html.indexOf("</section>", html.indexOf('<section id="config">')),
    );
    assertEquals(section.match(/<tr><td>.*<\/tr>/g), [
      "<tr><td>dpo.lr</td><td>0.0005</td><td>0.002</td></tr>",
    ]);
    // without labels, the legends name the directories (parents added where they clash)
    const plain = join(results, "compare", "plain.html");
    assertEquals((await runTask("compare", [a, b, "--out", plain])).code, 0);
    const [f2] = await drawnFigures(plain);
    assertEquals(f2!.data.filter((t) => !t.meta?.role)[0]!.name, "PPO · a/canonical_tiny");
    await Deno.remove(results, { recursive: true });
  },
});
