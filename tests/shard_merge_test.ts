import { join } from "node:path";
import { runSweep } from "./_sweep_process.ts";
import { runTask } from "./_subprocess.ts";
import { readCsvTable } from "../lib/sweep/results_table.ts";
import { assertEquals, assertStringIncludes } from "./assert.ts";

Deno.test("--shard 0/2 and 1/2 run disjoint halves of the grid and merge to the full sweep's summary", async () => {
  const tmp = await Deno.makeTempDir({ dir: "/tmp" });
  const full = join(tmp, "full"), sharded = join(tmp, "sharded");
  const a = await runSweep(full, ["--jobs", "2"]);
  assertEquals(a.code, 0, a.stderr);
  for (const shard of ["0/2", "1/2"]) {
    const s = await runSweep(sharded, ["--jobs", "2", "--shard", shard]);
    assertEquals(s.code, 0, s.stderr);
  }
  const root = join(sharded, "canonical_tiny");
  const s0 = (await readCsvTable(join(root, "summary.shard-0-of-2.csv"))).array(
    "run_id",
  ) as string[];
  const s1 = (await readCsvTable(join(root, "summary.shard-1-of-2.csv"))).array(
    "run_id",
  ) as string[];
  assertEquals(s0.filter((id) => s1.includes(id)), [], "a run in both shards");
  const merged = await runTask("merge", [root]);
  assertEquals(merged.code, 0, merged.stderr);
  const want = await Deno.readTextFile(join(full, "canonical_tiny", "summary.csv"));
  const got = await Deno.readTextFile(join(root, "summary.csv"));
  const rows = (t: string) => t.trim().split("\n").slice(1).sort();
  assertEquals(got.split("\n")[0], want.split("\n")[0], "same columns");
  assertEquals(rows(got), rows(want));
  assertEquals(rows(got).length, s0.length + s1.length);
  assertStringIncludes(
    merged.stdout,
    `merged ${s0.length + s1.length} of ${s0.length + s1.length} runs from 2 of 2 shards`,
  );

  // a failed array task: shard 1's files never appear. Merge refuses in one line…
  for (const f of ["csv", "json"]) await Deno.remove(join(root, `summary.shard-1-of-2.${f}`));
  const refused = await runTask("merge", [root]);
  assertEquals(refused.code, 2, refused.stderr);
  assertEquals(
    refused.stderr.trim(),
    `error: cannot merge ${root}: shard 1/2 (summary.shard-1-of-2.csv) is missing; ` +
      `${s1.length} of ${s0.length + s1.length} runs would be missing ` +
      `(--allow-partial merges the rest and lists them)`,
  );
  // …and with --allow-partial merges the rest and says which runs are missing
  const partial = await runTask("merge", [root, "--allow-partial"]);
  assertEquals(partial.code, 0, partial.stderr);
  assertStringIncludes(
    partial.stdout,
    `merged ${s0.length} of ${s0.length + s1.length} runs from 1 of 2 shards`,
  );
  assertStringIncludes(partial.stdout, `missing ${s1.length} run(s): ${s1.join(", ")}`);
  const record = JSON.parse(await Deno.readTextFile(join(root, "merge.json")));
  assertEquals(record.missing, s1);
  await Deno.remove(tmp, { recursive: true });
});
