/**
 * The subprocess helper reads deno.json's tasks: every task parses, permissions come out
 * as written, and a task runs with its own command line.
 */
import {
  denoTasks,
  flagPermissions,
  parseTask,
  PERMISSION_NAMES,
  runTask,
  taskCommand,
  taskPermissions,
} from "./_subprocess.ts";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./assert.ts";
import { KIT_ENV_VARS, KIT_PROGRAMS, SWEEP_SYS_KINDS } from "../lib/sweep/permissions.ts";

Deno.test("taskPermissions() parses every task of deno.json into every permission", () => {
  const perms = taskPermissions();
  assertEquals(Object.keys(perms).sort(), Object.keys(denoTasks()).sort());
  for (const [name, p] of Object.entries(perms)) {
    assertEquals(Object.keys(p), [...PERMISSION_NAMES], name);
    for (const g of Object.values(p)) assert(typeof g === "boolean" || Array.isArray(g), name);
  }
});

Deno.test("taskPermissions() lets sweep write only results and /tmp, as deno.json says", () => {
  const p = taskPermissions();
  assertEquals(p.sweep, {
    read: true,
    write: ["results", "/tmp"],
    env: [...KIT_ENV_VARS],
    run: [...KIT_PROGRAMS],
    sys: [...SWEEP_SYS_KINDS],
    net: false,
    ffi: false,
    import: false,
  });
  assertEquals(p["notebooks:clear"]!.write, ["notebooks"]);
  assertEquals(p["notebooks:clear"]!.env, false);
  // a chain is the union of its commands, `deno task notebooks` included
  assertEquals(p.test!.write, ["/tmp", "results"]);
  assertEquals(p.test!.sys, true);
  assertEquals(p.test!.net, false);
});

Deno.test("taskCommand() is the task's deno run line with the extra arguments appended", () => {
  assertEquals(taskCommand("sweep", ["canonical", "--jobs", "2"]), [
    "run",
    "--allow-read",
    "--allow-write=results,/tmp",
    `--allow-env=${KIT_ENV_VARS.join(",")}`,
    `--allow-sys=${SWEEP_SYS_KINDS.join(",")}`,
    `--allow-run=${KIT_PROGRAMS.join(",")}`,
    "experiments/sweep.ts",
    "canonical",
    "--jobs",
    "2",
  ]);
  // the task's own arguments come before the caller's
  assertEquals(taskCommand("merge", ["r"]).slice(-3), [
    "experiments/results_tools.ts",
    "merge",
    "r",
  ]);
  assertThrows(
    () => taskCommand("test"),
    Error,
    'task test is not one "deno run <flags> <script>"',
  );
  assertThrows(() => taskCommand("nope"), Error, 'deno.json has no task "nope"');
});

Deno.test("parseTask() reads chains, short flags and quotes, and rejects what it cannot model", () => {
  assertEquals(parseTask("t", "deno fmt --check && deno run -R -W='a b,c' x.ts --y"), [
    { subcommand: "fmt", flags: ["--check"], positional: [] },
    { subcommand: "run", flags: ["-R", "-W=a b,c"], positional: ["x.ts", "--y"] },
  ]);
  const p = flagPermissions("t", ["-R", "-W=a b,c", "--allow-env=HOME", "--allow-env=PATH"]);
  assertEquals([p.read, p.write, p.env, p.run], [true, ["a b", "c"], ["HOME", "PATH"], false]);
  const all = flagPermissions("t", ["-A"]);
  assert(PERMISSION_NAMES.every((n) => all[n] === true));
  assertThrows(
    () => parseTask("t", "deno run --deny-net x.ts"),
    Error,
    "cannot read the permission flag --deny-net",
  );
  assertThrows(() => parseTask("t", "deno run x.ts | cat"), Error, 'task t: cannot read "|"');
  assertThrows(
    () => parseTask("t", "FOO=1 deno run x.ts"),
    Error,
    'expected "deno <subcommand> …"',
  );
  assertThrows(() => parseTask("t", "deno run 'x.ts"), Error, "unclosed '");
  // a publish option, not a permission: read, and granting nothing
  assertEquals(parseTask("t", "deno publish --dry-run --allow-dirty"), [
    { subcommand: "publish", flags: ["--dry-run", "--allow-dirty"], positional: [] },
  ]);
});

Deno.test("runTask() runs a task with its permissions and collects its output", async () => {
  const out = await runTask("golden:update", ["--help"]);
  assertEquals(out.code, 0, out.stderr);
  assertStringIncludes(out.stdout, "usage: deno task golden:update");
});
