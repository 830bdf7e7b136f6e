/**
 * The tasks of deno.json run with least privilege: none is granted everything or the
 * network, and the tasks that run experiments or read results write only under
 * `results/` and `/tmp`; nothing in the library, the experiments or the tools reaches for
 * the network. (How deno.json's tasks are read: subprocess_test.ts.)
 */
import { join } from "node:path";
import { PERMISSION_NAMES, ROOT, taskPermissions } from "./_subprocess.ts";
import { assert, assertEquals } from "./assert.ts";

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
