import {
  assert,
  assertEquals,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
} from "./assert.ts";
import {
  DONE_FILE,
  isStageDone,
  runStage,
  STAGE_FILE,
  stageKey,
  verifyStage,
} from "../lib/sweep/stage_cache.ts";
import { LockHeldError } from "../lib/sweep/lock.ts";
import { ConfigError } from "../lib/util/errors.ts";

const quiet = () => {};
const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("stageKey() changes when and only when a config value or an input changes", async () => {
  const k = await stageKey("ppo", { beta: 0.1, lr: 1e-3 }, { sft: "aaaa", rm: "bbbb" });
  assertEquals(await stageKey("ppo", { lr: 1e-3, beta: 0.1 }, { rm: "bbbb", sft: "aaaa" }), k);
  assertNotEquals(await stageKey("ppo", { beta: 0.2, lr: 1e-3 }, { sft: "aaaa", rm: "bbbb" }), k);
  assertNotEquals(await stageKey("ppo", { beta: 0.1, lr: 1e-3 }, { sft: "aaaa", rm: "cccc" }), k);
  assertNotEquals(await stageKey("dpo", { beta: 0.1, lr: 1e-3 }, { sft: "aaaa", rm: "bbbb" }), k);
  assertNotEquals(await stageKey("ppo", { beta: 0.1, lr: 1e-3 }, ["aaaa", "bbbb"]), k);
});

Deno.test("runStage() runs once, then reuses; a changed config reruns", async () => {
  const root = await Deno.makeTempDir();
  let runs = 0;
  const spec = {
    root,
    name: "sft",
    config: { steps: 10 },
    log: quiet,
    run: async (dir: string) => {
      runs++;
      await Deno.writeTextFile(`${dir}/out.txt`, "weights");
    },
  };
  const a = await runStage(spec);
  assertEquals(a.cached, false);
  assertEquals(a.dir, `${root}/sft/${a.key}`);
  assertEquals(names(a.dir), [DONE_FILE, "out.txt", STAGE_FILE]);
  const meta = JSON.parse(Deno.readTextFileSync(`${a.dir}/${STAGE_FILE}`));
  assertEquals([meta.name, meta.key, meta.config], ["sft", a.key, { steps: 10 }]);
  const b = await runStage(spec);
  assertEquals([b.cached, b.key, runs], [true, a.key, 1]);
  const c = await runStage({ ...spec, config: { steps: 11 } });
  assertEquals([c.cached, runs], [false, 2]);
  assertNotEquals(c.key, a.key);
  // a downstream stage keyed on an upstream key
  const d1 = await runStage({ ...spec, name: "rm", inputs: { sft: a.key } });
  const d2 = await runStage({ ...spec, name: "rm", inputs: { sft: c.key } });
  assertNotEquals(d1.key, d2.key);
  assertEquals(names(`${root}/sft`), [a.key, c.key].sort());
  await Deno.remove(root, { recursive: true });
});

Deno.test("a crash inside run leaves nothing under the final name; the next call completes", async () => {
  const root = await Deno.makeTempDir();
  const spec = { root, name: "ppo", config: { beta: 0.1 }, log: quiet };
  await assertRejects(
    () =>
      runStage({
        ...spec,
        run: async (dir) => {
          await Deno.writeTextFile(`${dir}/half.txt`, "half");
          throw new Error("simulated crash");
        },
      }),
    Error,
    "simulated crash",
  );
  assertEquals(names(`${root}/ppo`), []); // no final dir, no partial, no lock
  const r = await runStage({ ...spec, run: (dir) => Deno.writeTextFile(`${dir}/ok.txt`, "ok") });
  assertEquals(r.cached, false);
  assertEquals(names(`${root}/ppo`), [r.key]);
  assertEquals(names(r.dir), [DONE_FILE, "ok.txt", STAGE_FILE]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("a final dir without DONE is not trusted: it is removed and rerun", async () => {
  const root = await Deno.makeTempDir();
  const spec = {
    root,
    name: "s",
    config: {},
    log: quiet,
    run: (dir: string) => Deno.writeTextFile(`${dir}/new.txt`, "n"),
  };
  const key = await stageKey("s", {});
  await Deno.mkdir(`${root}/s/${key}`, { recursive: true });
  await Deno.writeTextFile(`${root}/s/${key}/junk.txt`, "j");
  const r = await runStage(spec);
  assertEquals([r.cached, names(r.dir)], [false, [DONE_FILE, "new.txt", STAGE_FILE]]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("resume: true hands a failed run's partial dir to the next run", async () => {
  const root = await Deno.makeTempDir();
  const spec = { root, name: "train", config: { steps: 4 }, log: quiet, resume: true };
  await assertRejects(() =>
    runStage({
      ...spec,
      run: async (dir, ctx) => {
        assertEquals(ctx.resumed, false);
        await Deno.writeTextFile(`${dir}/ckpt.txt`, "step 2");
        throw new Error("preempted");
      },
    })
  );
  let seen = "";
  const r = await runStage({
    ...spec,
    run: async (dir, ctx) => {
      assertEquals(ctx.resumed, true);
      seen = await Deno.readTextFile(`${dir}/ckpt.txt`);
    },
  });
  assertEquals(seen, "step 2");
  assertEquals(names(`${root}/train`), [r.key]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("two concurrent calls for one stage run it once (the second waits, then reuses)", async () => {
  const root = await Deno.makeTempDir();
  let runs = 0;
  const spec = {
    root,
    name: "rm",
    config: { k: 1 },
    log: quiet,
    lock: { pollMs: 10 },
    run: async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 100));
    },
  };
  const [a, b] = await Promise.all([runStage(spec), runStage(spec)]);
  assertEquals(runs, 1);
  assertEquals([a.cached, b.cached].sort(), [false, true]);
  // fail-fast mode names the holder
  const slow = runStage({ ...spec, config: { k: 2 } });
  await new Promise((r) => setTimeout(r, 30));
  const e = await assertRejects(
    () => runStage({ ...spec, config: { k: 2 }, lock: { wait: false } }),
    LockHeldError,
  );
  assertStringIncludes(e.message, `held by pid ${Deno.pid}`);
  await slow;
  await Deno.remove(root, { recursive: true });
});

Deno.test("kill -9 mid-run: no final dir; a rerun takes the stale lock and completes", async () => {
  const root = await Deno.makeTempDir();
  const mod = new URL("../lib/sweep/stage_cache.ts", import.meta.url).href;
  const code = `
    import { runStage } from ${JSON.stringify(mod)};
    await runStage({ root: ${JSON.stringify(root)}, name: "ppo", config: { beta: 1 },
      run: async (dir) => {
        await Deno.writeTextFile(dir + "/started", "");
        await new Promise((r) => setTimeout(r, 60_000));
      } });`;
  // run with only what a stage needs (not `deno eval`, which may do anything)
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(script, code);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      `--allow-write=${root}`,
      "--allow-sys=hostname",
      "--allow-run=ps",
      script,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const started = () =>
    [...Deno.readDirSync(`${root}/ppo`)].some((e) => {
      try {
        Deno.statSync(`${root}/ppo/${e.name}/started`);
        return true;
      } catch {
        return false;
      }
    });
  const t0 = Date.now();
  while (!(await Deno.stat(`${root}/ppo`).then(started, () => false))) {
    assert(Date.now() - t0 < 15_000, "child did not start its stage");
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  await child.status;
  const key = await stageKey("ppo", { beta: 1 });
  const left = names(`${root}/ppo`);
  assertEquals(left, [`.${key}.lock`, `.${key}.partial-${child.pid}`]); // nothing final
  const r = await runStage({
    root,
    name: "ppo",
    config: { beta: 1 },
    log: quiet,
    run: async () => {},
  });
  assertEquals(r.cached, false);
  assertEquals(names(`${root}/ppo`), [key]);
  await Deno.remove(root, { recursive: true });
  await Deno.remove(script);
});

Deno.test("runStage() rejects a stage name that is not a plain directory name", async () => {
  for (const name of ["", "../x", ".hidden", "a/b"]) {
    await assertRejects(
      () => runStage({ root: "/tmp", name, config: {}, run: async () => {} }),
      ConfigError,
      "stage name must be",
    );
  }
});

Deno.test("DONE records the SHA-256 of every file of the stage", async () => {
  const root = await Deno.makeTempDir();
  const r = await runStage({
    root,
    name: "prefs",
    config: {},
    log: quiet,
    run: async (dir) => {
      await Deno.writeTextFile(`${dir}/prefs.csv`, "abc");
      await Deno.mkdir(`${dir}/sub`);
      await Deno.writeTextFile(`${dir}/sub/x.txt`, "");
    },
  });
  const done = JSON.parse(Deno.readTextFileSync(`${r.dir}/${DONE_FILE}`));
  assertEquals(Object.keys(done.files).sort(), ["prefs.csv", STAGE_FILE, "sub/x.txt"]);
  // FIPS 180-4 test vectors: SHA-256("abc") and SHA-256("")
  assertEquals(
    done.files["prefs.csv"],
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assertEquals(
    done.files["sub/x.txt"],
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assertEquals(await verifyStage(r.dir), undefined);
  await Deno.remove(root, { recursive: true });
});

/** Each way a cached stage can go bad, and the problem its one-line warning names. */
const CORRUPTIONS: [string, (dir: string) => Promise<void>, string][] = [
  [
    "a truncated file",
    (dir) => Deno.writeTextFile(`${dir}/prefs.csv`, "prompt,chosen,rejected\nthe"),
    "prefs.csv (26 bytes) does not match its SHA-256 (truncated or edited?)",
  ],
  [
    "a garbage file of the same size",
    async (dir) => {
      const n = (await Deno.stat(`${dir}/prefs.csv`)).size;
      await Deno.writeFile(`${dir}/prefs.csv`, new Uint8Array(n).fill(0x41));
    },
    "prefs.csv (41 bytes) does not match its SHA-256",
  ],
  ["a missing file", (dir) => Deno.remove(`${dir}/prefs.csv`), "prefs.csv is missing"],
  [
    "a garbage DONE marker",
    (dir) => Deno.writeTextFile(`${dir}/${DONE_FILE}`, "\u0000\u0000garbage"),
    "its DONE marker is not valid or has no checksums",
  ],
  [
    "a DONE marker without checksums (an older kit)",
    (dir) => Deno.writeTextFile(`${dir}/${DONE_FILE}`, '{"name":"prefs","key":"k"}\n'),
    "its DONE marker is not valid or has no checksums",
  ],
];

for (const [what, corrupt, problem] of CORRUPTIONS) {
  Deno.test(`a cached stage with ${what} warns once, is discarded and rebuilt`, async () => {
    const root = await Deno.makeTempDir();
    const logs: string[] = [];
    let runs = 0;
    const spec = {
      root,
      name: "prefs",
      config: { k: 3 },
      log: (m: string) => logs.push(m),
      run: async (dir: string) => {
        runs++;
        await Deno.writeTextFile(`${dir}/prefs.csv`, "prompt,chosen,rejected\nthe film,good,bad\n");
      },
    };
    const first = await runStage(spec);
    await corrupt(first.dir);
    assertEquals(await isStageDone(root, "prefs", first.key), false);
    const again = await runStage(spec);
    assertEquals([again.cached, again.key, runs], [false, first.key, 2]);
    assertEquals(logs.length, 1, logs.join("\n"));
    assertStringIncludes(logs[0]!, `cache: stage prefs/${first.key} fails its check: ${problem}`);
    assertStringIncludes(logs[0]!, "discarding it and computing it again");
    assertEquals(
      await Deno.readTextFile(`${again.dir}/prefs.csv`),
      "prompt,chosen,rejected\nthe film,good,bad\n",
    );
    assertEquals(names(`${root}/prefs`), [first.key]); // nothing left aside
    const third = await runStage(spec);
    assertEquals([third.cached, runs, logs.length], [true, 2, 1]);
    await Deno.remove(root, { recursive: true });
  });
}
