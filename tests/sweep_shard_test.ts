import { assertEquals, assertThrows } from "./assert.ts";
import { parseShard, shardItems } from "../lib/sweep/shard.ts";
import { applyPoint, gridPoints } from "../lib/sweep/grid.ts";
import { ConfigError } from "../lib/util/errors.ts";

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
