/**
 * Assertions under `@std/assert`'s names, backed by `node:assert/strict`.
 *
 * JSR (`jsr:@std/assert`) cannot be reached from the build machines, so every test
 * imports from here; switching to the real package is this one file.
 *
 * @module
 */
import assert from "node:assert/strict";

/** Asserts that `actual` is truthy. */
export function assertTrue(actual: unknown, msg?: string): asserts actual {
  assert.ok(actual, msg);
}

/** Asserts that `expr` is truthy (@std/assert's `assert`). */
export function assertOk(expr: unknown, msg?: string): asserts expr {
  assert.ok(expr, msg);
}
export { assertOk as assert };

/** Deep, strict equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  assert.deepStrictEqual(actual, expected, msg);
}

/** Deep, strict inequality. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  assert.notDeepStrictEqual(actual, expected, msg);
}

/** Same value by `Object.is`. */
export function assertStrictEquals<T>(actual: T, expected: T, msg?: string): void {
  assert.strictEqual(actual, expected, msg);
}

/** |actual − expected| ≤ tolerance (absolute). Default tolerance 1e-7, as @std/assert. */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance = 1e-7,
  msg?: string,
): void {
  if (!Number.isFinite(actual) && actual === expected) return;
  const delta = Math.abs(actual - expected);
  if (!(delta <= tolerance)) {
    throw new assert.AssertionError({
      message: msg ??
        `Expected actual: "${actual}" to be close to "${expected}": delta "${delta}" is greater than "${tolerance}"`,
      actual,
      expected,
    });
  }
}

/** Element-wise {@link assertAlmostEquals} over two equal-length arrays. */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance = 1e-6,
  msg?: string,
): void {
  assert.equal(actual.length, expected.length, `${msg ?? ""} length mismatch`);
  for (let i = 0; i < actual.length; i++) {
    assertAlmostEquals(
      actual[i]!,
      expected[i]!,
      tolerance,
      msg
        ? `${msg} [${i}]: ${actual[i]} vs ${expected[i]}`
        : `[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

/** Asserts that `fn` throws; optionally of `ErrorClass` and with `msgIncludes` in the message. */
export function assertThrows(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass?: new (...args: any[]) => Error,
  msgIncludes?: string,
): Error {
  try {
    fn();
  } catch (e) {
    return checkError(e, ErrorClass, msgIncludes);
  }
  throw new assert.AssertionError({ message: "Expected function to throw." });
}

/** Async variant of {@link assertThrows}. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  ErrorClass?: new (...args: any[]) => Error,
  msgIncludes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return checkError(e, ErrorClass, msgIncludes);
  }
  throw new assert.AssertionError({ message: "Expected promise to reject." });
}

function checkError(
  e: unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass?: new (...args: any[]) => Error,
  msgIncludes?: string,
): Error {
  if (!(e instanceof Error)) throw new assert.AssertionError({ message: `Thrown non-Error: ${e}` });
  if (ErrorClass && !(e instanceof ErrorClass)) {
    const err: Error = e;
    throw new assert.AssertionError({
      message:
        `Expected error to be instance of "${ErrorClass.name}", got "${err.constructor.name}": ${err.message}`,
    });
  }
  if (msgIncludes !== undefined && !e.message.includes(msgIncludes)) {
    throw new assert.AssertionError({
      message: `Expected error message to include "${msgIncludes}", got "${e.message}"`,
    });
  }
  return e;
}

/** Asserts that `actual` is greater than `expected`. */
export function assertGreater(actual: number, expected: number, msg?: string): void {
  assert.ok(actual > expected, msg ?? `Expected ${actual} > ${expected}`);
}

/** Asserts that `actual` is less than `expected`. */
export function assertLess(actual: number, expected: number, msg?: string): void {
  assert.ok(actual < expected, msg ?? `Expected ${actual} < ${expected}`);
}

/** Asserts that `actual` contains `expected` (string). */
export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  assert.ok(actual.includes(expected), msg ?? `Expected "${actual}" to include "${expected}"`);
}
