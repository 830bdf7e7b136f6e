import { assertEquals, assertThrows } from "./assert.ts";
import { applyPoint, checkDistinct, gridPoints, gridSize, mergeAxes } from "../lib/sweep/grid.ts";
import { ConfigError } from "../lib/util/errors.ts";

const base = { seed: 0, ppo: { beta: 0.1, lr: 1e-3 }, methods: ["ppo"] };

Deno.test("gridPoints() is the cartesian product, first axis slowest, stable", () => {
  const axes = [
    { path: "ppo.beta", values: [0.05, 0.1] },
    { path: "seed", values: [1, 2, 3] },
  ];
  const pts = gridPoints(axes);
  assertEquals(pts.length, gridSize(axes));
  assertEquals(pts.map((p) => `${p["ppo.beta"]}/${p.seed}`), [
    "0.05/1",
    "0.05/2",
    "0.05/3",
    "0.1/1",
    "0.1/2",
    "0.1/3",
  ]);
  assertEquals(gridPoints(axes), pts);
  assertEquals(gridPoints([]), [{}]);
});

Deno.test("applyPoint() sets dotted fields on a copy and rejects unknown ones", () => {
  const c = applyPoint(base, { "ppo.beta": 0.5, seed: 3 });
  assertEquals(c, { seed: 3, ppo: { beta: 0.5, lr: 1e-3 }, methods: ["ppo"] });
  assertEquals(base.ppo.beta, 0.1); // untouched
  assertThrows(
    () => applyPoint(base, { "ppo.nope": 1 }),
    ConfigError,
    "grid axis ppo.nope is not a field of the config",
  );
  assertThrows(() => applyPoint(base, { "seed.x": 1 }), ConfigError, "seed.x");
});

Deno.test("mergeAxes(): a command-line list replaces the preset's axis, one value pins it", () => {
  const preset = [
    { path: "ppo.beta", values: [0.02, 0.05] },
    { path: "bon.n", values: [1, 4] },
  ];
  assertEquals(
    mergeAxes(preset, [
      { path: "ppo.beta", values: [0.1, 0.2, 0.3] },
      { path: "bon.n", values: [8] },
      { path: "model.dModel", values: [32, 64] },
      { path: "seed", values: [2] },
    ]),
    [
      { path: "ppo.beta", values: [0.1, 0.2, 0.3] },
      { path: "model.dModel", values: [32, 64] },
    ],
  );
  assertEquals(mergeAxes(preset, []), preset);
});

Deno.test("checkDistinct() rejects a repeated value, naming the field", () => {
  checkDistinct([{ path: "seed", values: [1, 2] }]);
  assertThrows(
    () => checkDistinct([{ path: "seed", values: [1, 2, 1] }]),
    ConfigError,
    "--seed: 1 appears twice in the grid (1,2,1)",
  );
});
