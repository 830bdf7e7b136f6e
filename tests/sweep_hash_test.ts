import { assertEquals, assertNotEquals, assertThrows } from "./assert.ts";
import { hashKey, stableStringify } from "../lib/sweep/hash.ts";
import { KitError } from "../lib/util/errors.ts";

Deno.test("stableStringify() is independent of key order at every depth", () => {
  const a = { b: 1, a: { y: [3, { q: 1, p: 2 }], x: "s" } };
  const b = { a: { x: "s", y: [3, { p: 2, q: 1 }] }, b: 1 };
  assertEquals(stableStringify(a), stableStringify(b));
  assertEquals(stableStringify(a), '{"a":{"x":"s","y":[3,{"p":2,"q":1}]},"b":1}');
});

Deno.test("stableStringify() keeps array order and JSON scalars", () => {
  assertNotEquals(stableStringify([1, 2]), stableStringify([2, 1]));
  assertEquals(stableStringify([null, true, "é", -0, 1e-7]), '[null,true,"é",0,1e-7]');
  assertEquals(stableStringify({ a: undefined, b: 1 }), '{"b":1}');
});

Deno.test("stableStringify() rejects values JSON would mangle, naming the path", () => {
  assertThrows(() => stableStringify({ ppo: { beta: NaN } }), KitError, "value.ppo.beta: NaN");
  assertThrows(() => stableStringify({ f: () => 1 }), KitError, "value.f: a function");
  assertThrows(() => stableStringify([1, Infinity]), KitError, "value[1]: Infinity");
  assertThrows(() => stableStringify({ d: new Date(0) }), KitError, "a Date is not a plain");
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  assertThrows(() => stableStringify(cyc), KitError, "cycle");
});

Deno.test("hashKey() is 16 hex chars, order independent, value sensitive", async () => {
  const k1 = await hashKey({ a: 1, b: [1, 2] });
  assertEquals(k1.length, 16);
  assertEquals(/^[0-9a-f]+$/.test(k1), true);
  assertEquals(await hashKey({ b: [1, 2], a: 1 }), k1);
  assertNotEquals(await hashKey({ a: 1, b: [2, 1] }), k1);
  assertNotEquals(await hashKey({ a: 1.0000001, b: [1, 2] }), k1);
  // SHA-256("{}") = 44136fa355b3678a…
  assertEquals(await hashKey({}), "44136fa355b3678a");
  assertEquals((await hashKey({}, 64)).length, 64);
});
