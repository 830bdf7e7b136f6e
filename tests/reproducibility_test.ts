/**
 * Reproducibility: the same config and seeds on the same backend give byte-identical
 * metrics.csv and summary.csv (wall-clock numbers live in timings.csv and manifest.json),
 * whether runs go in one process or in parallel workers; every manifest records what a
 * rerun needs; `deno task rerun` re-executes a published run and compares.
 */
import { join } from "node:path";
import * as aq from "arquero";
import { readCsvTable, writeCsvTable } from "../lib/sweep/results_table.ts";
import type { Manifest } from "../lib/sweep/manifest.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { differingResults, runSweep, tinyRunIds } from "./_sweep_process.ts";
import { withTempDir } from "./_bad_input.ts";
import { runTask } from "./_subprocess.ts";

Deno.test({
  name: "two sweeps of one config and seed give byte-identical tables; rerun confirms a run",
  sanitizeResources: false,
  fn: () =>
    withTempDir(async (dir) => {
      const [da, db] = [join(dir, "a"), join(dir, "b")];
      const ids = await tinyRunIds();
      // one in-process sweep and one with parallel workers, at the same time
      const [a, b] = await Promise.all([
        runSweep(da, ["--jobs", "1"]),
        runSweep(db, ["--jobs", "2"]),
      ]);
      assertEquals([a.code, b.code], [0, 0], `${a.stderr}\n----\n${b.stderr}`);
      const [ra, rb] = [join(da, "canonical_tiny"), join(db, "canonical_tiny")];
      assertEquals(await differingResults(ra, rb), []);

      // what the tables hold: results only; timings beside them
      const done = (await readCsvTable(join(ra, "summary.csv"))).array("run_id") as string[];
      assertEquals([...done].sort(), Object.values(ids).sort());
      for (const id of done) {
        const metrics = (await readCsvTable(join(ra, id, "metrics.csv"))).columnNames();
        assert(!metrics.some((c) => c.startsWith("perf/")), `${id}: ${metrics}`);
        const m: Manifest = JSON.parse(await Deno.readTextFile(join(ra, id, "manifest.json")));
        assertEquals(m.status, "ok");
        assertEquals(m.seed, 1);
        assertEquals(m.backend, "wasm");
        assert(/^[0-9a-f]{16}$/.test(m.configHash), m.configHash);
        assert(m.kit.commit === null || /^[0-9a-f]{40}$/.test(m.kit.commit), String(m.kit.commit));
        assertEquals([m.deno, m.tfjs], [Deno.version.deno, "4.22.0"]);
        const mb: Manifest = JSON.parse(await Deno.readTextFile(join(rb, id, "manifest.json")));
        assertEquals(mb.configHash, m.configHash);
      }
      const timings = await readCsvTable(join(ra, ids["ppo 0.1"]!, "timings.csv"));
      assertEquals(timings.columnNames(), ["step", "perf/tokens_per_s", "perf/sample_fraction"]);

      // rerun in a fresh cache, upstream stages recomputed: the run reproduces
      const ok = await runTask("rerun", [join(ra, ids["ppo 0.1"]!)]);
      assertEquals(ok.code, 0, ok.stderr);
      assertStringIncludes(ok.stdout, "summary matches\nmetrics match\n");

      // a run whose recorded summary was altered: rerun says which column differs
      // (a copy under another name: the id in its config.json is what the rerun reads)
      const copy = join(ra, `${ids["dpo 1"]}-copy`);
      await Deno.mkdir(copy);
      for (const f of ["config.json", "manifest.json", "metrics.csv", "summary.csv"]) {
        await Deno.copyFile(join(ra, ids["dpo 1"]!, f), join(copy, f));
      }
      const row = (await readCsvTable(join(copy, "summary.csv"))).objects()[0] as Record<
        string,
        unknown
      >;
      await writeCsvTable(aq.from([{ ...row, kl: 0.5 }]), join(copy, "summary.csv"));
      const bad = await runTask("rerun", [copy, "--reuse-upstream"]);
      assertEquals(bad.code, 1, bad.stderr);
      assertStringIncludes(bad.stdout, `summary.csv differs:\n  kl: row 1: 0.5 → ${row.kl}\n`);
      assertStringIncludes(bad.stdout, "metrics match\n");
    }, "repro-"),
});
