import { assert, assertEquals, assertRejects } from "./assert.ts";
import { defaultJobs, prefixLines, runPool, spawnDeno } from "../lib/sweep/pool.ts";
import { ConfigError } from "../lib/util/errors.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("runPool() keeps at most `jobs` tasks in flight and runs them all", async () => {
  let inFlight = 0, most = 0;
  const started: number[] = [];
  const report = await runPool([1, 2, 3, 4, 5, 6, 7], {
    jobs: 3,
    run: async (t) => {
      started.push(t);
      most = Math.max(most, ++inFlight);
      await sleep(10 + (t % 3) * 10);
      inFlight--;
    },
  });
  assertEquals(most, 3);
  assertEquals(started, [1, 2, 3, 4, 5, 6, 7]);
  assertEquals(report, { ok: [1, 2, 3, 4, 5, 6, 7], failed: [] });
});

Deno.test("runPool() records failures and carries on with the other tasks", async () => {
  const settled: string[] = [];
  const report = await runPool(["a", "b", "c", "d"], {
    jobs: 2,
    run: async (t) => {
      await sleep(5);
      if (t === "b") throw new Error("b broke");
      if (t === "c") throw "c broke (not an Error)";
    },
    onSettled: (t, _i, e) => settled.push(`${t}:${e ? "x" : "ok"}`),
  });
  assertEquals(report.ok, ["a", "d"]);
  assertEquals(report.failed.map((f) => [f.task, f.error.message]), [
    ["b", "b broke"],
    ["c", "c broke (not an Error)"],
  ]);
  assertEquals(settled.sort(), ["a:ok", "b:x", "c:x", "d:ok"]);
});

Deno.test("runPool() stops starting tasks once its signal aborts", async () => {
  const ctl = new AbortController();
  const report = await runPool([1, 2, 3], {
    jobs: 1,
    signal: ctl.signal,
    run: () => {
      ctl.abort();
      return Promise.resolve();
    },
  });
  assertEquals(report.ok, [1]);
  assertEquals(report.failed.map((f) => f.error.message), [
    "not started: the sweep was cancelled",
    "not started: the sweep was cancelled",
  ]);
});

Deno.test("runPool() validates jobs and defaults to the core count", async () => {
  await assertRejects(
    () => runPool([1], { jobs: 0, run: async () => {} }),
    ConfigError,
    "jobs must be a positive integer, got 0",
  );
  assertEquals(defaultJobs(), navigator.hardwareConcurrency);
  assertEquals(await runPool([], { run: async () => {} }), { ok: [], failed: [] });
});

Deno.test("prefixLines() prefixes each non-empty line", () => {
  assertEquals(prefixLines("a\n\nb\n", "run1"), "[run1] a\n\n[run1] b\n");
});

Deno.test("spawnDeno() runs a script, logs its output and returns its exit code", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/child.ts`,
    `console.log("hello " + Deno.env.get("KIT_TEST"));
     console.error("warn line");
     await Deno.writeTextFile("here.txt", Deno.args.join(" "));
     Deno.exit(3);`,
  );
  const code = await spawnDeno(["child.ts", "x", "y"], {
    cwd: dir,
    env: { KIT_TEST: "42" },
    logFile: `${dir}/log.txt`,
    quiet: true,
    prefix: "child",
  });
  assertEquals(code, 3);
  const log = await Deno.readTextFile(`${dir}/log.txt`);
  assert(log.includes("hello 42\n") && log.includes("warn line\n"), log);
  assertEquals(await Deno.readTextFile(`${dir}/here.txt`), "x y");
  // permissions are what the caller says: without --allow-write the child fails
  const denied = await spawnDeno(["child.ts"], {
    cwd: dir,
    permissions: ["--allow-env"],
    quiet: true,
  });
  assertEquals(denied, 1);
  await Deno.remove(dir, { recursive: true });
});
