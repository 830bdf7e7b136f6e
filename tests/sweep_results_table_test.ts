import { assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import * as aq from "arquero";
import {
  mergeSummaries,
  readCsvTable,
  summariseOverSeeds,
  tQuantile975,
  writeCsvTable,
} from "../lib/sweep/results_table.ts";
import { FileFormatError, KitError } from "../lib/util/errors.ts";
import { withTempDir, writeFileIn } from "./_bad_input.ts";

const runs = aq.table({
  method: ["ppo", "ppo", "ppo", "dpo", "dpo", "bon"],
  beta: [0.1, 0.1, 0.1, 0.1, 0.1, 4],
  seed: [1, 2, 3, 1, 2, 1],
  reward_gold: [1, 2, 3, 0.5, 1.5, 7],
  kl: [0.1, NaN, 0.3, 1, 1, 2],
});

interface Summary {
  method: string;
  n_runs: number;
  reward_gold_mean: number;
  reward_gold_std: number | null;
  reward_gold_ci_lo: number;
  reward_gold_ci_hi: number;
  kl_mean: number;
  kl_std: number;
  kl_ci_lo: number;
  kl_ci_hi: number;
}

Deno.test("summariseOverSeeds() matches hand-computed means and t intervals", () => {
  const s = summariseOverSeeds(runs, {
    groupBy: ["method", "beta"],
    metrics: ["reward_gold", "kl"],
  });
  assertEquals(s.columnNames(), [
    "method",
    "beta",
    "n_runs",
    "reward_gold_mean",
    "reward_gold_std",
    "reward_gold_ci_lo",
    "reward_gold_ci_hi",
    "kl_mean",
    "kl_std",
    "kl_ci_lo",
    "kl_ci_hi",
  ]);
  const rows = s.objects() as unknown as Summary[];
  assertEquals(rows.map((r) => r.method), ["bon", "dpo", "ppo"]);
  const [bon, dpo, ppo] = rows as [Summary, Summary, Summary];
  // ppo: rewards 1,2,3 → mean 2, s = 1, half = t(2) · 1/√3 = 4.30265273/1.7320508 = 2.4841377
  assertEquals(ppo.n_runs, 3);
  assertAlmostEquals(ppo.reward_gold_mean, 2);
  assertAlmostEquals(ppo.reward_gold_std!, 1);
  assertAlmostEquals(ppo.reward_gold_ci_lo, 2 - 2.4841377, 1e-6);
  assertAlmostEquals(ppo.reward_gold_ci_hi, 2 + 2.4841377, 1e-6);
  // ppo kl: 0.1, NaN, 0.3 → the NaN is skipped: k = 2, s = 0.1414214, half = t(1)·s/√2 = 1.2706205
  assertAlmostEquals(ppo.kl_mean, 0.2);
  assertAlmostEquals(ppo.kl_ci_hi, 0.2 + 1.2706205, 1e-6);
  // dpo: 0.5, 1.5 → mean 1, s = 0.7071068, half = 12.7062047 · 0.5 = 6.3531024
  assertAlmostEquals(dpo.reward_gold_ci_lo, 1 - 6.3531024, 1e-6);
  assertAlmostEquals(dpo.kl_std, 0);
  assertAlmostEquals(dpo.kl_ci_lo, 1);
  // bon: one seed: a mean but no spread or interval
  assertEquals([bon.n_runs, bon.reward_gold_mean, bon.reward_gold_std, bon.reward_gold_ci_lo], [
    1,
    7,
    null,
    null,
  ]);
});

Deno.test("summariseOverSeeds() names a missing column", () => {
  assertThrows(
    () => summariseOverSeeds(runs, { groupBy: ["method"], metrics: ["reward"] }),
    KitError,
    'summariseOverSeeds: the table has no column "reward"; columns: method, beta, seed, reward_gold, kl',
  );
});

Deno.test("tQuantile975() is Student's t for small df and near-normal beyond 30", () => {
  assertAlmostEquals(tQuantile975(1), 12.706204736, 1e-9);
  assertAlmostEquals(tQuantile975(30), 2.042272456, 1e-9);
  assertAlmostEquals(tQuantile975(31), 2.039513446, 2e-4); // scipy.stats.t.ppf(0.975, 31)
  assertAlmostEquals(tQuantile975(120), 1.979930405, 1e-5);
  assertEquals(Number.isNaN(tQuantile975(0)), true);
});

Deno.test("writeCsvTable() / readCsvTable() round-trip, quotes included", async () => {
  const dir = await Deno.makeTempDir();
  const t = aq.table({
    run_id: ["a,b", 'say "hi"', "line\nbreak"],
    x: [1.5, 2, -3],
    ok: [true, false, true],
  });
  await writeCsvTable(t, `${dir}/sub/t.csv`);
  const back = await readCsvTable(`${dir}/sub/t.csv`);
  assertEquals(back.objects(), t.objects());
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readCsvTable() names the file and the problem for bad files", async () => {
  const dir = await Deno.makeTempDir();
  const cases: [string, string | Uint8Array, string][] = [
    ["missing.csv", "", "cannot read table MISSING: the file does not exist"],
    ["empty.csv", "\n", "table PATH is empty: expected a CSV header row"],
    ["zero.csv", "", "table PATH is empty: expected a CSV header row"],
    ["short.csv", "a,b,c\n1,2,3\n4,5\n", "table PATH line 3 has 2 fields but the header has 3"],
    ["long.csv", "a,b\n1,2,3\n", "table PATH line 2 has 3 fields but the header has 2"],
    [
      "quote.csv",
      'a,b\n1,"unterminated\n',
      "table PATH ends inside a quoted field opened on line 2",
    ],
    [
      "bin.csv",
      new Uint8Array([97, 44, 98, 10, 0, 1, 2]),
      "is not a CSV text file (it contains NUL",
    ],
  ];
  for (const [name, content, message] of cases) {
    const path = `${dir}/${name}`;
    if (name !== "missing.csv") {
      if (typeof content === "string") await Deno.writeTextFile(path, content);
      else await Deno.writeFile(path, content);
    }
    await assertRejects(
      () => readCsvTable(path),
      FileFormatError,
      message.replace("PATH", path).replace("MISSING", path),
    );
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("mergeSummaries() concatenates shards, unions columns, dedupes run ids", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/s0.csv`, "run_id,method,reward\nr1,ppo,1\nr2,ppo,2\n");
  await Deno.writeTextFile(`${dir}/s1.csv`, "run_id,method,kl\nr2,ppo,9\nr3,dpo,0.5\n");
  const m = await mergeSummaries([`${dir}/s0.csv`, `${dir}/s1.csv`]);
  assertEquals(m.columnNames(), ["run_id", "method", "reward", "kl"]);
  assertEquals(m.objects(), [
    { run_id: "r1", method: "ppo", reward: 1, kl: null },
    { run_id: "r2", method: "ppo", reward: 2, kl: null },
    { run_id: "r3", method: "dpo", reward: null, kl: 0.5 },
  ]);
  await assertRejects(
    () => mergeSummaries([`${dir}/s0.csv`], { idColumn: "run" }),
    FileFormatError,
    `summary ${dir}/s0.csv has no "run" column to identify runs; columns: run_id, method, reward`,
  );
  await assertRejects(() => mergeSummaries([`${dir}/nope.csv`]), FileFormatError, "nope.csv");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readCsvTable() reads data only: cells and headers that look like code stay text", async () => {
  await withTempDir(async (dir) => {
    const g = globalThis as Record<string, unknown>;
    const path = await writeFileIn(
      dir,
      "s.csv",
      'run_id,"${globalThis.pwned=1}"\n"__proto__","(()=>{globalThis.pwned=2})()"\n',
    );
    const table = await readCsvTable(path);
    assertEquals(table.columnNames(), ["run_id", "${globalThis.pwned=1}"]);
    assertEquals(table.objects()[0], {
      run_id: "__proto__",
      "${globalThis.pwned=1}": "(()=>{globalThis.pwned=2})()",
    });
    assertEquals(g.pwned, undefined);
  });
});
