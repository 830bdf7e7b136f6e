/**
 * Results you can trust, end to end with the `tiny` preset, run as `deno task sweep` runs
 * (tests/_subprocess.ts): sweeps into one directory never replace each other's runs and
 * all end up in its summary; corrupt cache files are caught and rebuilt to identical
 * results; a dead node's lock expires; SIGTERM stops the workers; leftovers of killed
 * processes are swept; late failures now fail before any model trains.
 */
import { join } from "node:path";
import { parseSweep } from "../experiments/sweep.ts";
import { readCsvTable } from "../lib/sweep/results_table.ts";
import { runTask } from "./_subprocess.ts";
import { differingResults, incompleteFiles, runSweep, spawnSweep } from "./_sweep_process.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";

const ids = async (root: string) =>
  (await readCsvTable(join(root, "summary.csv"))).array("run_id") as string[];
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
const planned = async (...args: string[]) =>
  (await parseSweep(["canonical", "--preset", "tiny", ...args]))!.plan;

/** Every published file of a run directory, by name. */
async function published(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) out[e.name] = await Deno.readTextFile(join(dir, e.name));
  }
  return out;
}

Deno.test({
  name:
    "sweeps with different grids into one directory: both end up in the summary, another config replaces nothing",
  sanitizeResources: false,
  fn: async () => {
    const results = await Deno.makeTempDir({ prefix: "integrity-grids-" });
    const root = join(results, "canonical_tiny");
    const a = ["--methods", "ppo", "--ppo.beta", "0.2,0.3"];
    const b = ["--methods", "ppo", "--ppo.beta", "0.4,0.5"];
    const [ra, rb] = await Promise.all([runSweep(results, a), runSweep(results, b)]);
    assertEquals([ra.code, rb.code], [0, 0], `${ra.stderr}\n----\n${rb.stderr}`);
    const both = [...(await planned(...a)).runs, ...(await planned(...b)).runs].map((r) => r.id);
    assertEquals(await ids(root), both); // ordered by β
    const before = Object.fromEntries(
      await Promise.all(both.map(async (id) => [id, await published(join(root, id))])),
    );

    // another config at the same β: new run ids; the published runs are left untouched and
    // left out of its summary, each with the reason
    const c = await runSweep(results, [
      "--methods",
      "ppo",
      "--ppo.beta",
      "0.2",
      "--sft.steps",
      "3",
    ]);
    assertEquals(c.code, 0, c.stderr);
    const [other] =
      (await planned("--methods", "ppo", "--ppo.beta", "0.2", "--sft.steps", "3")).runs;
    assert(!both.includes(other!.id));
    assertEquals(await ids(root), [other!.id]);
    assertStringIncludes(c.stderr, `summary: left out 4 run director(ies) of ${root}:`);
    assertStringIncludes(
      c.stderr,
      `  ${both[0]}: its config differs from this sweep's: sft.steps 4 (this sweep: 3)`,
    );
    for (const id of both) assertEquals(await published(join(root, id)), before[id], id);

    // the first sweep again: its grid and the other's are back, the odd one is left out
    const again = await runSweep(results, a);
    assertEquals(again.code, 0, again.stderr);
    assertEquals(await ids(root), both);
    assertStringIncludes(again.stderr, `  ${other!.id}: its config differs from this sweep's`);
    assertEquals(await incompleteFiles(root), []);
    await Deno.remove(results, { recursive: true });
  },
});

Deno.test({
  name:
    "corrupt cache files of each kind are caught once, discarded and rebuilt to byte-identical results; leftovers of killed processes are swept",
  sanitizeResources: false,
  fn: async () => {
    const ref = await Deno.makeTempDir({ prefix: "integrity-ref-" });
    const results = await Deno.makeTempDir({ prefix: "integrity-cache-" });
    const args = ["--jobs", "1"];
    for (const r of [ref, results]) assertEquals((await runSweep(r, args)).code, 0);
    const root = join(results, "canonical_tiny");
    const plan = (await planned()).runs;
    const cache = join(root, ".cache");
    const dpo = plan.find((r) => r.method === "dpo")!;
    const ppo = plan.find((r) => r.method === "ppo")!;
    const prefs = join(cache, "prefs", dpo.upstream.prefs, "prefs.csv");
    const text = await Deno.readTextFile(prefs);
    await Deno.writeTextFile(prefs, text.slice(0, Math.floor(text.length / 2))); // truncated
    await Deno.writeTextFile(join(cache, "run-dpo", dpo.key, "summary.csv"), "garbage\n");
    await Deno.writeTextFile(join(cache, "run-ppo", ppo.key, "manifest.json"), "{ garbage");
    await Deno.remove(join(cache, "data", dpo.upstream.data, "tokenizer.json"));
    // what killed processes leave: a half-written plot, a temp dir of the backend
    const dead = new Deno.Command("true").spawn();
    await dead.status;
    const old = new Date(Date.now() - 120_000);
    const tmpPlot = join(root, "plots", `.frontier.html.tmp-${dead.pid}-0`);
    await Deno.writeFile(tmpPlot, new Uint8Array(2_000_000));
    await Deno.utime(tmpPlot, old, old);
    const xdg = await Deno.makeTempDir({ prefix: `rlhf-xdg-${dead.pid}-` });
    await Deno.utime(xdg, old, old);

    const again = await runSweep(results, args);
    assertEquals(again.code, 0, again.stderr);
    for (
      const [stage, key, problem] of [
        ["prefs", dpo.upstream.prefs, "prefs.csv ("],
        ["run-dpo", dpo.key, "summary.csv (8 bytes) does not match its SHA-256"],
        ["run-ppo", ppo.key, "manifest.json (9 bytes) does not match its SHA-256"],
        ["data", dpo.upstream.data, "tokenizer.json is missing"],
      ] as const
    ) {
      const line = `cache: stage ${stage}/${key} fails its check: ${problem}`;
      assertEquals(again.stderr.split(line).length - 1, 1, `warned once: ${line}\n${again.stderr}`);
    }
    // (other leftovers in the temp directory may be swept too)
    assert(
      /removed \d+ temp file\(s\) and director\(ies\) left by stopped processes/.test(
        again.stderr,
      ),
      again.stderr,
    );
    assertEquals([await exists(tmpPlot), await exists(xdg)], [false, false]);
    assertEquals(await differingResults(join(ref, "canonical_tiny"), root), []);
    assertEquals(await incompleteFiles(root), []);
    await Deno.remove(results, { recursive: true });
    await Deno.remove(ref, { recursive: true });
  },
});

Deno.test({
  name: "a lock left by a killed node on another host is taken over once its heartbeat expires",
  sanitizeResources: false,
  fn: async () => {
    const results = await Deno.makeTempDir({ prefix: "integrity-lock-" });
    const args = ["--methods", "bon", "--bon.n", "2"];
    const [run] = (await planned(...args)).runs;
    const dir = join(results, "canonical_tiny", ".cache", "data");
    await Deno.mkdir(dir, { recursive: true });
    const lock = join(dir, `.${run!.upstream.data}.lock`);
    const holder = {
      pid: 4242,
      hostname: "node17",
      time: "2026-01-01T00:00:00.000Z",
      purpose: "stage data",
      token: "x",
    };
    await Deno.writeTextFile(lock, JSON.stringify(holder));
    const old = new Date(Date.now() - 11 * 60_000);
    await Deno.utime(lock, old, old);
    const out = await runSweep(results, args);
    assertEquals(out.code, 0, out.stderr);
    assert(
      new RegExp(
        `taking over lock ${lock.replaceAll(".", "\\.")} of pid 4242 on node17 since ` +
          `2026-01-01T00:00:00.000Z \\(stage data\\): its last heartbeat was 6\\d\\d s ago ` +
          `\\(timeout 600 s\\)`,
      ).test(out.stderr),
      out.stderr,
    );
    await Deno.remove(results, { recursive: true });
  },
});

/** The pids whose parent is `pid`. */
async function childrenOf(pid: number): Promise<number[]> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "pid=", "--ppid", String(pid)],
    stdout: "piped",
  })
    .output();
  return new TextDecoder().decode(out.stdout).split("\n").map((s) => Number(s.trim())).filter((n) =>
    n > 0
  );
}

async function alive(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "stat=", "-p", String(pid)],
    stdout: "piped",
  })
    .output();
  const stat = new TextDecoder().decode(out.stdout).trim();
  return stat !== "" && !stat.startsWith("Z");
}

Deno.test({
  name: "SIGTERM of a --jobs 2 sweep stops its workers and exits 143, with nothing half-written",
  sanitizeResources: false,
  fn: async () => {
    const results = await Deno.makeTempDir({ prefix: "integrity-term-" });
    // a PPO run long enough that its workers are still running when the signal comes
    const args = ["--jobs", "2", "--methods", "ppo", "--ppo.iterations", "400"];
    const s = spawnSweep(results, args);
    const t0 = Date.now();
    let workers: number[] = [];
    while (workers.length < 2) {
      assert(Date.now() - t0 < 120_000, `no workers started:\n${s.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
      workers = await childrenOf(s.child.pid);
    }
    s.child.kill("SIGTERM");
    const status = await s.done;
    assertEquals(status.code, 143, s.stderr());
    assertStringIncludes(s.stderr(), "stopped by SIGTERM: stopped 2 child process(es)");
    for (const w of workers) assertEquals(await alive(w), false, `worker ${w} still runs`);
    assertEquals(await incompleteFiles(join(results, "canonical_tiny")), []);
    await Deno.remove(results, { recursive: true });
  },
});

for (
  const [what, args, message] of [
    [
      "a vocabulary the gold reward cannot score",
      ["--data.vocabSize", "5"],
      "error: --data.vocabSize 5: none of the 1 words of its vocabulary changes the vader gold " +
      "reward, so every pair of completions would tie and there is no preference to learn; use " +
      "a larger --data.vocabSize",
    ],
    [
      "more training prompts than the corpus has",
      ["--data.trainPrompts", "1e6"],
      "error: --data.trainPrompts 1000000 / --data.evalPrompts 8: makePrompts.count must be <= ",
    ],
    [
      "a model too large for the machine",
      ["--model.dModel", "100000"],
      "error: the model --model.dModel 100000 --model.nLayers 1 --model.nHeads 2 --model.context 16",
    ],
  ] as const
) {
  Deno.test({
    name: `a sweep with ${what} fails in one line before any model trains`,
    sanitizeResources: false,
    fn: async () => {
      const results = await Deno.makeTempDir({ prefix: "integrity-late-" });
      const out = await runSweep(results, [...args]);
      assertEquals(out.code, 2, out.stderr);
      const errors = out.stderr.split("\n").filter((l) => l.startsWith("error:"));
      assertEquals(errors.length, 1, out.stderr);
      assert(errors[0]!.startsWith(message), `${errors[0]}\n  expected: ${message}`);
      assert(!out.stdout.includes("base LM ["), "the base LM started training");
      assert(!out.stderr.includes("    at "), "a stack trace");
      await Deno.remove(results, { recursive: true });
    },
  });
}

Deno.test("compare --out <an existing directory> fails in one line", async () => {
  const out = await runTask("compare", ["results", "--out", "/tmp"]);
  assertEquals(out.code, 2);
  assertEquals(
    out.stderr.trim().split("\n").at(-1),
    "error: --out /tmp is a directory; give the report's file name, e.g. /tmp/report.html",
  );
});
