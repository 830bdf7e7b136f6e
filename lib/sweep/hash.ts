/**
 * Canonical JSON and content hashes for cache keys.
 *
 * A stage's key is `hashKey({stage, config, inputs})`: equal configs give equal keys
 * whatever order their keys were written in, and any change of a value or an input key
 * changes the key. Only plain JSON values can be hashed; anything that JSON would silently
 * mangle (NaN, Infinity, functions, Dates, Maps) is rejected so two different configs can
 * never share a key.
 *
 * @module
 */
import { KitError } from "../util/errors.ts";

/**
 * JSON with object keys sorted at every level and arrays kept in order.
 * Object properties whose value is `undefined` are left out (as `JSON.stringify` does).
 * @param value plain JSON data: null, booleans, finite numbers, strings, arrays, plain objects.
 * @throws KitError naming the path of a value that is not plain JSON.
 * @example
 * ```ts
 * import { stableStringify } from "./hash.ts";
 * if (stableStringify({ b: 1, a: [2, 1] }) !== '{"a":[2,1],"b":1}') throw new Error();
 * ```
 */
export function stableStringify(value: unknown): string {
  return canon(value, "value", new Set());
}

function canon(v: unknown, path: string, seen: Set<object>): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
    case "string":
      return JSON.stringify(v);
    case "number":
      if (!Number.isFinite(v)) reject(path, `${v} is not a finite number`);
      return JSON.stringify(v); // -0 becomes "0", as JSON would write it
    case "object":
      break;
    default:
      reject(path, `a ${typeof v} is not JSON data`);
  }
  const obj = v as object;
  if (seen.has(obj)) reject(path, "it contains itself (a cycle)");
  seen.add(obj);
  let out: string;
  if (Array.isArray(obj)) {
    out = `[${obj.map((x, i) => canon(x, `${path}[${i}]`, seen)).join(",")}]`;
  } else {
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      reject(path, `a ${obj.constructor?.name ?? "non-plain object"} is not a plain object`);
    }
    const rec = obj as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(rec).sort()) {
      if (rec[key] === undefined) continue;
      parts.push(`${JSON.stringify(key)}:${canon(rec[key], `${path}.${key}`, seen)}`);
    }
    out = `{${parts.join(",")}}`;
  }
  seen.delete(obj);
  return out;
}

function reject(path: string, why: string): never {
  throw new KitError(
    `cannot hash ${path}: ${why}; cache keys need plain JSON values ` +
      `(null, booleans, finite numbers, strings, arrays, plain objects)`,
  );
}

/**
 * SHA-256 of {@link stableStringify}(value), as lower-case hex.
 * @param value plain JSON data.
 * @param length hex characters to keep; 16 (64 bits) is plenty for a results directory.
 * @returns the hex digest prefix.
 */
export async function hashKey(value: unknown, length = 16): Promise<string> {
  const bytes = new TextEncoder().encode(stableStringify(value));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return hex.slice(0, length);
}
