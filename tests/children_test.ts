/**
 * The stop registry (lib/util/children.ts): Ctrl-C and SIGTERM stop every child the kit
 * registered and run its cleanups, in a real subprocess.
 */
import { join } from "node:path";
import { onStop, registerChild, registeredChildren, stopAll } from "../lib/util/children.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";

const MOD = new URL("../lib/util/children.ts", import.meta.url).href;

/** Whether a pid is still a live (not zombie) process, by `ps`. */
async function running(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "stat=", "-p", String(pid)],
    stdout: "piped",
  }).output();
  const stat = new TextDecoder().decode(out.stdout).trim();
  return stat !== "" && !stat.startsWith("Z");
}

/**
 * Start a script that registers `sleep 60` (or a child that ignores SIGTERM) and a cleanup
 * removing a temp dir, then waits; send it `sig` once it is ready.
 */
async function interrupt(sig: Deno.Signal, child: string[]) {
  const dir = await Deno.makeTempDir({ prefix: "children-test-" });
  const script = join(dir, "main.ts");
  const temp = join(dir, "temp");
  await Deno.mkdir(temp);
  await Deno.writeTextFile(
    script,
    `import { onStop, registerChild } from ${JSON.stringify(MOD)};
     const c = new Deno.Command(${JSON.stringify(child[0])}, {
       args: ${JSON.stringify(child.slice(1))}, stdin: "null", stdout: "null", stderr: "null",
     }).spawn();
     registerChild(c, "sleeper");
     onStop(() => Deno.removeSync(${JSON.stringify(temp)}, { recursive: true }));
     console.log("ready " + c.pid);
     await new Promise((r) => setTimeout(r, 60_000));`,
  );
  const p = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", `--allow-write=${dir}`, "--allow-run=sleep,sh", script],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = p.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  const pid = Number(/ready (\d+)/.exec(out)?.[1]);
  assert(pid > 0, `the script did not start: ${out}`);
  // a shell child needs a moment to install its trap
  await new Promise((r) => setTimeout(r, 200));
  p.kill(sig);
  const status = await p.status;
  reader.releaseLock();
  await p.stdout.cancel().catch(() => {});
  const stderr = await new Response(p.stderr).text();
  const left = await Deno.stat(temp).then(() => true, () => false);
  const alive = await running(pid);
  await Deno.remove(dir, { recursive: true });
  return { status, stderr, left, alive };
}

Deno.test("SIGTERM stops a registered child, runs the cleanups and exits 143", async () => {
  const r = await interrupt("SIGTERM", ["sleep", "60"]);
  assertEquals(r.status.code, 143, r.stderr);
  assertStringIncludes(r.stderr, "stopped by SIGTERM: stopped 1 child process(es) (sleeper)");
  assertEquals([r.alive, r.left], [false, false]);
});

Deno.test("Ctrl-C (SIGINT) does the same and exits 130", async () => {
  const r = await interrupt("SIGINT", ["sleep", "60"]);
  assertEquals(r.status.code, 130, r.stderr);
  assertEquals([r.alive, r.left], [false, false]);
});

Deno.test("a child that ignores SIGTERM is killed after the grace period", async () => {
  const r = await interrupt("SIGTERM", ["sh", "-c", "trap '' TERM; sleep 60 & wait"]);
  assertEquals(r.status.code, 143, r.stderr);
  assertEquals([r.alive, r.left], [false, false]);
});

Deno.test("registering and unregistering leaves no signal listener behind", async () => {
  const child = new Deno.Command("true").spawn();
  const unregister = registerChild(child, "t");
  assertEquals(registeredChildren(), ["t"]);
  await child.status;
  unregister();
  assertEquals(registeredChildren(), []);
  // the test's resource sanitizer fails this test if a listener were left
});

Deno.test("stopAll() stops children and runs cleanups in this process", async () => {
  const child = new Deno.Command("sleep", { args: ["60"] }).spawn();
  registerChild(child, "sleep");
  let cleaned = 0;
  onStop(() => cleaned++);
  assertEquals(await stopAll(2_000), ["sleep"]);
  assertEquals((await child.status).signal, "SIGTERM");
  assertEquals([cleaned, registeredChildren()], [1, []]);
});
