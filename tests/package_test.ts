/**
 * Tests of the package surface: the entry points deno.json exports, what the root entry
 * re-exports from them, that test-only hooks stay out of every entry point, and where the
 * kit finds npm packages it reads as files.
 */
import { pathToFileURL } from "node:url";
import { nodeModulesDir } from "../lib/util/node_modules.ts";
import { assert, assertEquals } from "./assert.ts";

const ROOT = new URL("../", import.meta.url);
const denoJson = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
const entries: Record<string, string> = denoJson.exports;

async function load(path: string): Promise<Record<string, unknown>> {
  return await import(new URL(path, ROOT).href);
}

Deno.test({
  name: "the root entry re-exports every value of every sub-path entry, unchanged",
  async fn() {
    const root = await load(entries["."]!);
    // The notebook entry is built on experiments/ (a session runs the canonical
    // experiment's own code), above every layer: the root entry is the layers' namespace.
    const subPaths = Object.keys(entries).filter((k) => k !== "." && k !== "./notebook");
    assert(subPaths.length >= 9, `expected one entry per layer, got ${subPaths.join(", ")}`);
    for (const key of subPaths) {
      const sub = await load(entries[key]!);
      // `export *` silently drops a name two modules both export: a collision would show here.
      const missing = Object.keys(sub).filter((name) => root[name] !== sub[name]);
      assertEquals(missing, [], `${key}: names the root entry lacks or exports differently`);
    }
  },
});

Deno.test({
  name: "test-only hooks are exported from no entry point",
  async fn() {
    const hooks = [
      "armNanFault",
      "parseFault",
      "takeNanFault",
      "geluTanh",
      "embedOneHot",
      "gatherLogProbsReference",
      "tempPathFor",
    ];
    for (const [key, path] of Object.entries(entries)) {
      const mod = await load(path);
      assertEquals(hooks.filter((h) => h in mod), [], `${key} exports test-only hooks`);
    }
  },
});

Deno.test({
  name: "nodeModulesDir() is the checkout's node_modules/ from files, the cwd's from a URL",
  fn() {
    assertEquals(
      nodeModulesDir("file:///opt/kit/lib/util/node_modules.ts").href,
      "file:///opt/kit/node_modules/",
    );
    assertEquals(
      nodeModulesDir("https://jsr.io/@rlhf/kit/0.1.0/lib/util/node_modules.ts").href,
      pathToFileURL(Deno.cwd()).href + "/node_modules/",
    );
    assertEquals(nodeModulesDir().href, new URL("node_modules/", ROOT).href);
  },
});
