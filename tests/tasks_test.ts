/**
 * The tasks of deno.json run with least privilege: none is granted everything or the
 * network, and the tasks that run experiments or read results write only under
 * `results/` and `/tmp`, read only the environment variables and system information the
 * kit uses and start only its programs (lib/sweep/permissions.ts); `notebooks` and `test`
 * write only where they must; no worker gets a permission its parent lacks; nothing in
 * the library, the experiments or the tools reaches for the network. (How deno.json's
 * tasks are read: subprocess_test.ts; the narrowing itself: sweep_pool_test.ts.)
 */
import { join } from "node:path";
import { PERMISSION_NAMES, ROOT, taskPermissions } from "./_subprocess.ts";
import { runSweep } from "./_sweep_process.ts";
import {
  KIT_ENV_VARS,
  KIT_PROGRAMS,
  KIT_SYS_KINDS,
  parsePermissionFlags,
} from "../lib/sweep/permissions.ts";
import { DEFAULT_PERMISSIONS } from "../lib/sweep/pool.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";

/** Tasks that run experiments or work on their results. */
const RESULT_TASKS = ["sweep", "reproduce", "rerun", "sft", "bench", "merge", "plots", "compare"];

Deno.test("no task is granted everything or the network", () => {
  for (const [name, p] of Object.entries(taskPermissions())) {
    assert(!PERMISSION_NAMES.every((n) => p[n] === true), `task ${name} is granted everything`);
    assertEquals(p.net, false, `task ${name} may use the network`);
  }
});

Deno.test("tasks that run experiments or read results write only under results/ and /tmp", () => {
  const perms = taskPermissions();
  for (const name of RESULT_TASKS) {
    assert(perms[name], `deno task ${name} exists`);
    assertEquals(perms[name]!.write, ["results", "/tmp"], `task ${name}`);
  }
});

/** Every .ts file under `dir`. */
async function* walkTs(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* walkTs(p);
    else if (e.name.endsWith(".ts")) yield p;
  }
}

Deno.test("nothing in lib/, experiments/ or tools/ reaches for the network", async () => {
  const network =
    /\bfetch\(|new WebSocket\(|--allow-net|Deno\.connect|https?:\/\/[^\s"'`]*\.(js|ts)\b/;
  const offenders: string[] = [];
  let files = 0;
  for (const dir of ["lib", "experiments", "tools"]) {
    for await (const path of walkTs(join(ROOT, dir))) {
      files++;
      if (network.test(await Deno.readTextFile(path))) offenders.push(path);
    }
  }
  assertEquals(offenders, []);
  assert(files > 50, `only ${files} files read`);
});

const subset = (grant: unknown, allowed: readonly string[]) =>
  Array.isArray(grant) && grant.every((g) => allowed.includes(g));

/** What the benchmark adds: a PyTorch peer (its python) and the tfjs-node native addon. */
const BENCH_EXTRA = {
  env: ["RLHF_PYTHON"],
  run: ["python3", "/usr/bin/python3"],
  ffi: ["node_modules"],
};

Deno.test("every kit task scopes env, sys and run to what the kit reads and starts", () => {
  const perms = taskPermissions();
  for (const name of RESULT_TASKS) {
    const p = perms[name]!;
    const extra = name === "bench" ? BENCH_EXTRA : { env: [], run: [], ffi: [] };
    const env = [...KIT_ENV_VARS, ...extra.env];
    assert(subset(p.env, env), `${name}: --allow-env ${JSON.stringify(p.env)}`);
    assert(subset(p.sys, KIT_SYS_KINDS), `${name}: --allow-sys ${JSON.stringify(p.sys)}`);
    const run = [...KIT_PROGRAMS, ...extra.run];
    assert(subset(p.run, run), `${name}: --allow-run ${JSON.stringify(p.run)}`);
    assertEquals(p.write, ["results", "/tmp"], `${name}: --allow-write`);
    assertEquals(p.ffi, extra.ffi.length ? extra.ffi : false, `${name}: --allow-ffi`);
    assertEquals([p.net, p.import], [false, false], name);
  }
  // the sweep's grants are exactly the kit's lists (sys: all but the benchmark's load)
  assertEquals(perms.sweep!.env, [...KIT_ENV_VARS]);
  assertEquals(perms.sweep!.run, [...KIT_PROGRAMS]);
});

Deno.test("notebooks and test write only where they must; no task has the network, ffi only bench", () => {
  const perms = taskPermissions();
  assertEquals(perms.notebooks!.write, ["results", "/tmp"]);
  assertEquals(perms.notebooks!.env, ["CI"]);
  assertEquals(perms.notebooks!.run, ["jupyter"]);
  assertEquals(perms.test!.write, ["/tmp", "results"]);
  for (const [name, p] of Object.entries(perms)) {
    assertEquals(p.net, false, `task ${name}`);
    if (name !== "bench") assertEquals(p.ffi, false, `task ${name}`);
    assert(p.write !== true, `task ${name} may write anywhere`);
  }
});

Deno.test("the workers' default permissions are the kit's lists, never more", () => {
  const { flags } = parsePermissionFlags(DEFAULT_PERMISSIONS);
  const byKind = Object.fromEntries(flags.map((f) => [f.kind, f.scopes]));
  assertEquals(Object.keys(byKind).sort(), ["env", "read", "run", "sys", "write"]);
  assertEquals(byKind.env, [...KIT_ENV_VARS]);
  assertEquals(byKind.sys, [...KIT_SYS_KINDS]);
  assertEquals(byKind.run, [...KIT_PROGRAMS]);
});

Deno.test({
  name:
    "a --jobs 2 sweep runs its workers under the task's scoped permissions, and nothing is dropped",
  sanitizeResources: false,
  fn: async () => {
    const results = await Deno.makeTempDir({ prefix: "privilege-" });
    const out = await runSweep(results, ["--jobs", "2", "--methods", "bon", "--bon.n", "2"]);
    assertEquals(out.code, 0, out.stderr);
    assertStringIncludes(out.stderr, "done bon__n2__seed1__");
    assert(!out.stderr.includes("not passing"), out.stderr);
    assert(!out.stderr.includes("Requires"), out.stderr);
    await Deno.remove(results, { recursive: true });
  },
});
