/**
 * Interrupted and concurrent sweeps: a `tiny` sweep killed with SIGKILL at random moments
 * and restarted ends with the same results as one that ran through, with no partial file
 * under a final name at any point; two sweeps started at once on one results directory
 * both finish, one waiting for the other's stages, with the same summary.
 */
import { join } from "node:path";
import { Rng } from "../lib/util/rng.ts";
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { differingResults, incompleteFiles, runSweep, spawnSweep } from "./_sweep_process.ts";

/** The uninterrupted reference sweep, shared by both tests. */
interface Reference {
  root: string;
  /** What the sweep reported as it went, in order: stage labels and finished runs. */
  events: string[];
}
let reference: Promise<Reference> | undefined;
function referenceSweep(): Promise<Reference> {
  reference ??= (async () => {
    const results = await Deno.makeTempDir({ prefix: "resume-ref-" });
    const s = spawnSweep(results, ["--jobs", "1"]);
    const status = await s.done;
    assertEquals(status.code, 0, s.stderr());
    return { root: join(results, "canonical"), events: progressEvents(s.stderr()) };
  })();
  return reference;
}

/**
 * The progress a sweep reports on stderr, as distinct markers in order of appearance:
 * a progress bar's label (`base LM`, `ppo β=0.1`, …) or a whole line (`done <run>`).
 */
function progressEvents(stderr: string): string[] {
  const events: string[] = [];
  for (const line of stderr.split("\n")) {
    const bar = line.indexOf(" [");
    const e = bar > 0 && line.includes("ETA") ? line.slice(0, bar + 2) : line.trim();
    if (e && !events.includes(e)) events.push(e);
  }
  return events;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name: "a sweep killed with SIGKILL at random points resumes to the same results",
  sanitizeResources: false,
  fn: async () => {
    const ref = await referenceSweep();
    const results = await Deno.makeTempDir({ prefix: "resume-kill-" });
    const root = join(results, "canonical");
    // Kill points, seeded: one event drawn from each third of the reference sweep's
    // progress (upstream stages, method runs, the end), then 0–300 ms more. A restarted
    // sweep skips what is cached, so it is killed at the first event at or after its pick.
    const rng = new Rng(20240917);
    const n = ref.events.length;
    const picks = [0, 1, 2].map((k) => Math.floor(((k + rng.next()) * (n - 1)) / 3));
    const kills: string[] = [];
    for (const pick of picks) {
      const s = spawnSweep(results, ["--jobs", "1"]);
      const later = ref.events.slice(pick);
      let seen: string | undefined;
      while (!(seen = later.find((e) => s.stderr().includes(e)))) {
        if (await Promise.race([s.done.then(() => true), sleep(10).then(() => false)])) break;
      }
      const offset = 300 * rng.next();
      await sleep(offset);
      const status = await Promise.race([s.done, sleep(0).then(() => undefined)]);
      assertEquals(status, undefined, `the sweep finished before kill ${kills.length + 1}`);
      s.child.kill("SIGKILL");
      assertEquals((await s.done).signal, "SIGKILL");
      kills.push(`${offset.toFixed(0)} ms after ${JSON.stringify(seen)}`);
      assertEquals(await incompleteFiles(root), [], `after kill ${kills.length}`);
    }
    const last = await runSweep(results, ["--jobs", "1"]);
    assertEquals(last.code, 0, last.stderr);
    assertEquals(await incompleteFiles(root), []);
    assertEquals(await differingResults(ref.root, root), [], `kills: ${kills.join(", ")}`);
    console.log(`killed ${kills.length} times:\n  ${kills.join("\n  ")}`);
    await Deno.remove(results, { recursive: true });
  },
});

Deno.test({
  name: "two sweeps started at once on one results directory both finish with the same summary",
  sanitizeResources: false,
  fn: async () => {
    const ref = await referenceSweep();
    const results = await Deno.makeTempDir({ prefix: "resume-concurrent-" });
    const root = join(results, "canonical");
    const [a, b] = await Promise.all([
      runSweep(results, ["--jobs", "1"]),
      runSweep(results, ["--jobs", "2"]),
    ]);
    assertEquals([a.code, b.code], [0, 0], `${a.stderr}\n----\n${b.stderr}`);
    // each stage ran once: whoever came second waited for the lock and reused the result
    assertStringIncludes(a.stderr + b.stderr, "waiting for stage ");
    // both printed the same table, and what they left is whole and equals a lone sweep's
    const table = (s: string) => s.slice(s.indexOf("|method|"), s.indexOf("summary: "));
    assertEquals(table(a.stdout), table(b.stdout));
    assertEquals(await incompleteFiles(root), []);
    assertEquals(await differingResults(ref.root, root), []);
    await Deno.remove(results, { recursive: true });
    await Deno.remove(join(ref.root, ".."), { recursive: true });
  },
});
