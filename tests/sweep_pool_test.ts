import { assert, assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";
import { clampJobs, defaultJobs, prefixLines, runPool, spawnDeno } from "../lib/sweep/pool.ts";
import { narrowPermissions } from "../lib/sweep/permissions.ts";
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
    permissions: ["--allow-env=KIT_TEST", `--allow-write=${dir}`],
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

Deno.test("clampJobs() keeps --jobs within the core count and says so", () => {
  assertEquals(clampJobs(2, 4), { jobs: 2 });
  assertEquals(clampJobs(4, 4), { jobs: 4 });
  assertEquals(clampJobs(1000, 2), {
    jobs: 2,
    notice: "--jobs 1000 is more than the 2 logical cores of this machine; running 2 at a time",
  });
});

Deno.test("narrowPermissions() passes on only the scopes this process holds", () => {
  // this test process holds read, write, env, run and sys, but no ffi or net
  assertEquals(narrowPermissions(["--allow-read", "--allow-ffi", "--quiet", "--allow-net=x.org"]), {
    args: ["--quiet", "--allow-read"],
    dropped: ["--allow-ffi", "--allow-net=x.org"],
  });
});

Deno.test("a child never gets a permission its parent lacks, scope by scope", async () => {
  const dir = await Deno.makeTempDir();
  const mod = new URL("../lib/sweep/pool.ts", import.meta.url).href;
  await Deno.writeTextFile(
    `${dir}/child.ts`,
    `const q = (d: Deno.PermissionDescriptor) => Deno.permissions.querySync(d).state;
     console.log(JSON.stringify([q({ name: "env", variable: "A" }), q({ name: "env", variable: "B" }),
       q({ name: "ffi" }), q({ name: "write", path: ${JSON.stringify(dir)} })]));`,
  );
  await Deno.writeTextFile(
    `${dir}/parent.ts`,
    `import { spawnDeno } from ${JSON.stringify(mod)};
     Deno.exit(await spawnDeno([${JSON.stringify(`${dir}/child.ts`)}], {
       permissions: ["--allow-env=A,B", "--allow-ffi", "--allow-write=${dir}"] }));`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env=A",
      `--allow-write=${dir}`,
      "--allow-run=deno",
      `${dir}/parent.ts`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  assertEquals(JSON.parse(stdout), ["granted", "prompt", "prompt", "granted"]);
  assertStringIncludes(
    stderr,
    "not passing --allow-env=B --allow-ffi to child processes: this process does not hold it",
  );
  await Deno.remove(dir, { recursive: true });
});
