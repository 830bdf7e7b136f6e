import { join } from "node:path";
import * as aq from "arquero";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "./assert.ts";
import { checkShards } from "../lib/sweep/shard_check.ts";
import { gridHash, shardFiles, writeShardSummary } from "../lib/sweep/shard_record.ts";
import { parseShard, shardItems } from "../lib/sweep/shard_assignment.ts";
import { sha256Hex } from "../lib/sweep/checksums.ts";
import { applyPoint, gridPoints } from "../lib/sweep/grid.ts";
import { ConfigError, FileFormatError } from "../lib/util/errors.ts";

const grid = gridPoints([
  { path: "beta", values: [0.01, 0.1, 1] },
  { path: "seed", values: [1, 2, 3, 4, 5] },
]).map((p) => applyPoint({ beta: 0, seed: 0 }, p));

for (const n of [1, 2, 3, 4, 7, 20]) {
  Deno.test(`shards 0/${n} .. ${n - 1}/${n} cover a 15-point grid exactly once`, () => {
    const all = Array.from({ length: n }, (_, i) => shardItems(grid, i, n)).flat();
    assertEquals(all.length, grid.length);
    const keys = all.map((c) => JSON.stringify(c)).sort();
    assertEquals(keys, grid.map((c) => JSON.stringify(c)).sort());
    // balanced: sizes differ by at most one
    const sizes = Array.from({ length: n }, (_, i) => shardItems(grid, i, n).length);
    assertEquals(Math.max(...sizes) - Math.min(...sizes) <= 1, true);
  });
}

Deno.test("shardItems() keeps the grid order within a shard", () => {
  assertEquals(shardItems([0, 1, 2, 3, 4], 1, 2), [1, 3]);
  assertEquals(shardItems([0, 1, 2, 3, 4], 0, 2), [0, 2, 4]);
});

Deno.test("parseShard() accepts i/n and rejects the rest, naming the value", () => {
  assertEquals(parseShard("0/2"), { index: 0, count: 2 });
  assertEquals(parseShard(" 2 / 3 "), { index: 2, count: 3 });
  for (const bad of ["2/2", "3/2", "-1/2", "0/0", "1.5/3", "a/b", "1", "1/2/3", ""]) {
    assertThrows(
      () => parseShard(bad),
      ConfigError,
      `--shard must be i/n with integers 0 <= i < n (e.g. 0/4), got ${JSON.stringify(bad)}`,
    );
  }
  assertThrows(() => shardItems([1], 2, 2), ConfigError, 'got "2/2"');
});

// --- shard records and merge coverage -------------------------------------------------

const IDS = [
  "ppo__beta0.1__seed1__aaaaaaaa",
  "ppo__beta1__seed1__bbbbbbbb",
  "bon__n4__seed1__cccccccc",
];
const ROW = (id: string) => ({ run_id: id, method: id.split("__")[0], reward_gold: 0.5, kl: 0.1 });

/** A results dir with the shards of a 3-run grid written as the sweep writes them. */
async function sharded(count: number, opts: { failed?: string[]; only?: number[] } = {}) {
  const root = await Deno.makeTempDir({ prefix: "shards-" });
  for (let i = 0; i < count; i++) {
    if (opts.only && !opts.only.includes(i)) continue;
    const runs = shardItems(IDS, i, count).filter((id) => !opts.failed?.includes(id));
    await writeShardSummary(root, aq.from(runs.map(ROW)), {
      gridRuns: IDS,
      index: i,
      count,
      failed: shardItems(IDS, i, count).filter((id) => opts.failed?.includes(id)),
    });
  }
  return root;
}

const file = (root: string, i: number, n: number) => join(root, shardFiles(i, n).csv);

Deno.test("writeShardSummary() records the grid, the shard, its runs and the CSV's SHA-256", async () => {
  const root = await sharded(2);
  const rec = JSON.parse(await Deno.readTextFile(join(root, shardFiles(1, 2).record)));
  assertEquals(rec.grid, await gridHash(IDS));
  assertEquals([rec.index, rec.count, rec.runs, rec.gridRuns, rec.failed], [
    1,
    2,
    [IDS[1]],
    IDS,
    [],
  ]);
  assertEquals(rec.columns, ["run_id", "method", "reward_gold", "kl"]);
  assertEquals(rec.sha256, await sha256Hex(await Deno.readFile(file(root, 1, 2))));
  const check = await checkShards(root);
  assertEquals([check.merged, check.missing, check.problems], [[0, 1], [], []]);
  assertEquals(check.rows.map((r) => r.run_id).sort(), [...IDS].sort());
  await Deno.remove(root, { recursive: true });
});

/** Each way a set of shard files can be incomplete or wrong, and the line merge says. */
const BROKEN: [string, () => Promise<string>, string][] = [
  [
    "a missing shard",
    () => sharded(2, { only: [0] }),
    "shard 1/2 (summary.shard-1-of-2.csv) is missing; 1 of 3 runs would be missing",
  ],
  [
    "a shard with a failed run",
    () => sharded(2, { failed: [IDS[1]!] }),
    `shard 1/2: 1 run(s) failed: ${IDS[1]}`,
  ],
  [
    "a lost row",
    async () => {
      const root = await sharded(2);
      const text = await Deno.readTextFile(file(root, 0, 2));
      await Deno.writeTextFile(file(root, 0, 2), text.split("\n").slice(0, 2).join("\n") + "\n");
      return root;
    },
    `summary.shard-0-of-2.csv was changed after its shard wrote it (its SHA-256 differs ` +
    `from summary.shard-0-of-2.json): rows of ${IDS[2]} are missing`,
  ],
  [
    "a renamed column",
    async () => {
      const root = await sharded(2);
      const text = await Deno.readTextFile(file(root, 0, 2));
      await Deno.writeTextFile(file(root, 0, 2), text.replace("reward_gold", "gold"));
      return root;
    },
    'columns "reward_gold" are gone and "gold" are new (renamed?)',
  ],
  [
    "a header-only shard",
    async () => {
      const root = await sharded(2);
      const text = await Deno.readTextFile(file(root, 1, 2));
      await Deno.writeTextFile(file(root, 1, 2), text.split("\n")[0] + "\n");
      return root;
    },
    `summary.shard-1-of-2.csv was changed after its shard wrote it (its SHA-256 differs ` +
    `from summary.shard-1-of-2.json): rows of ${IDS[1]} are missing`,
  ],
  [
    "a shard CSV without its record (an older kit, or a shard killed while writing it)",
    async () => {
      const root = await sharded(2);
      await Deno.remove(join(root, shardFiles(1, 2).record));
      return root;
    },
    "summary.shard-1-of-2.csv has no summary.shard-1-of-2.json record",
  ],
  [
    "a renamed shard file",
    async () => {
      const root = await sharded(3);
      for (const f of ["csv", "record"] as const) {
        await Deno.rename(join(root, shardFiles(0, 3)[f]), join(root, shardFiles(2, 3)[f]));
      }
      return root;
    },
    "summary.shard-2-of-3.csv holds shard 0/3 by its record (renamed?)",
  ],
  [
    "a stale shard whose values differ from the published run",
    async () => {
      const root = await sharded(2);
      const dir = join(root, IDS[1]!);
      await Deno.mkdir(dir);
      await Deno.writeTextFile(join(dir, "manifest.json"), '{"status":"ok"}');
      await Deno.writeTextFile(
        join(dir, "summary.csv"),
        `run_id,method,reward_gold,kl\n${IDS[1]},ppo,0.75,0.1\n`,
      );
      return root;
    },
    `summary.shard-1-of-2.csv is stale: its rows of ${
      IDS[1]
    } differ from their published run directories`,
  ],
];

for (const [what, make, message] of BROKEN) {
  Deno.test(`checkShards() refuses ${what} in one line, and --allow-partial lists what is missing`, async () => {
    const root = await make();
    const e = await assertRejects(() => checkShards(root), FileFormatError);
    assertStringIncludes(e.message, `cannot merge ${root}: `);
    assertStringIncludes(e.message, message);
    assert(!e.message.includes("\n"), e.message);
    const partial = await checkShards(root, { allowPartial: true });
    assert(partial.missing.length > 0, what);
    assertEquals(partial.rows.length + partial.missing.length, IDS.length, what);
    assertEquals(partial.problems.length > 0, true);
    await Deno.remove(root, { recursive: true });
  });
}

Deno.test("checkShards() always refuses shard files of two grids (a stale sharding left behind)", async () => {
  const root = await sharded(2);
  const old = await sharded(3);
  for (let i = 0; i < 3; i++) {
    for (const f of ["csv", "record"] as const) {
      await Deno.copyFile(join(old, shardFiles(i, 3)[f]), join(root, shardFiles(i, 3)[f]));
    }
  }
  for (const allowPartial of [false, true]) {
    await assertRejects(
      () => checkShards(root, { allowPartial }),
      FileFormatError,
      "mixes shard files of different grids: summary.shard-0-of-2.csv, summary.shard-1-of-2.csv",
    );
  }
  await Deno.remove(root, { recursive: true });
  await Deno.remove(old, { recursive: true });
});
