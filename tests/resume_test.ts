/**
 * Interrupted and concurrent sweeps: a `tiny` sweep killed with SIGKILL at random moments
 * and restarted ends with the same results as one that ran through, with no partial file
 * under a final name at any point; two sweeps started at once on one results directory
 * both finish, one waiting for the other's stages, with the same summary.
 */
import { join } from "node:path";
import { Rng } from "../lib/util/rng.ts";
import { assert, assertEquals, assertGreater, assertStringIncludes } from "./assert.ts";
import { differingResults, incompleteFiles, runSweep, spawnSweep } from "./_sweep_process.ts";

/** The uninterrupted reference sweep, shared by both tests. */
interface Reference {
  root: string;
  /** What the sweep reported as it went, in order: progress bars, stage and run messages. */
  events: string[];
}
let reference: Promise<Reference> | undefined;
function referenceSweep(): Promise<Reference> {
  reference ??= (async () => {
    const results = await Deno.makeTempDir({ prefix: "resume-ref-" });
    const s = spawnSweep(results, ["--jobs", "1"]);
    const status = await s.done;
    assertEquals(status.code, 0, s.stderr());
    return { root: join(results, "canonical_tiny"), events: progressEvents(s.lines(), results) };
  })();
  return reference;
}

/**
 * The progress a sweep reports, as distinct markers in order of appearance: a progress
 * bar's label (`base LM [`, `ppo β=0.1 [`, …; bars go to stdout) or a line up to its first
 * ` · ` (`done <run>`, `sweep 3/6 runs`, `upstream stages ready`, on stderr; what follows
 * — cached or trained, times, numbers — differs between sweeps), with the results
 * directory written as `<results>` so sweeps into different directories report the same
 * markers.
 */
function progressEvents(lines: readonly string[], results: string): string[] {
  const events: string[] = [];
  for (const raw of lines) {
    const line = raw.replaceAll(results, "<results>");
    const bar = line.indexOf(" [");
    const e = bar > 0 && line.includes("ETA")
      ? line.slice(0, bar + 2)
      : line.trim().split(" · ")[0]!;
    if (e && !events.includes(e)) events.push(e);
  }
  return events;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Kill points must land on a sweep that is still working, whatever the timing:
 *
 * - A kill is placed after a marker no earlier sweep into this directory printed. Every
 *   marker is printed before the work it closes is committed (a bar's last line before its
 *   stage is stored; `done <run>` is printed even for a cached run), so an unprinted marker
 *   is work not yet done, and a correct restarted sweep must print it. A restarted sweep
 *   that ends without printing it skipped work, and fails the test.
 * - Markers are drawn only from before the last `done <run>` line, so after each one at
 *   least that run and the summary remain (over 100 ms on the development machine).
 * - The sweep is killed 0–300 ms after the marker, but at the latest when the next marker
 *   appears, so the random offset cannot carry the kill past the end of the sweep.
 *
 * If the sweep still ends first (the test process was starved for longer than the work
 * left), that is a completed resume, not a failure: it must have exited 0, the loop stops,
 * and the final checks below still apply. At least one kill must land.
 */
Deno.test({
  name: "a sweep killed with SIGKILL at random points resumes to the same results",
  sanitizeResources: false,
  fn: async () => {
    const ref = await referenceSweep();
    const results = await Deno.makeTempDir({ prefix: "resume-kill-" });
    const root = join(results, "canonical_tiny");
    const lastDone = ref.events.findLastIndex((e) => e.startsWith("done "));
    const pickable = ref.events.slice(0, lastDone);
    assertGreater(pickable.length, 6, `too few progress markers: ${ref.events.join(" | ")}`);
    // One kill per third of the reference's progress (upstream stages, method runs, the
    // last runs), seeded; each among the markers no earlier sweep printed.
    const rng = new Rng(20240917);
    const printed = new Set<string>();
    const kills: string[] = [];
    let landed = 0;
    for (let k = 0; k < 3; k++) {
      const third = pickable.slice(
        Math.floor((k * pickable.length) / 3),
        Math.floor(((k + 1) * pickable.length) / 3),
      );
      const fresh = third.filter((e) => !printed.has(e));
      const candidates = fresh.length
        ? fresh
        : pickable.slice(pickable.indexOf(third[0]!)).filter((e) => !printed.has(e));
      if (!candidates.length) break;
      const pick = candidates[rng.int(candidates.length)]!;
      const next = ref.events.slice(ref.events.indexOf(pick) + 1);
      const offset = 300 * rng.next();

      const s = spawnSweep(results, ["--jobs", "1"]);
      const seen = () => progressEvents(s.lines(), results);
      let ended = false;
      s.done.then(() => ended = true);
      while (!ended && !seen().includes(pick)) await sleep(5);
      const at = performance.now();
      while (!ended && performance.now() - at < offset && !next.some((e) => seen().includes(e))) {
        await sleep(5);
      }
      try {
        s.child.kill("SIGKILL");
      } catch {
        // it ended between the last look and the kill
      }
      const status = await s.done;
      if (status.signal !== "SIGKILL") {
        assertEquals(status.code, 0, `restarted sweep ${k + 1} failed:\n${s.stderr()}`);
        assert(
          seen().includes(pick),
          `restarted sweep ${k + 1} ended without reaching ${JSON.stringify(pick)}, ` +
            `which no earlier sweep reached: it skipped work\n${s.lines().join("\n")}`,
        );
        kills.push(
          `none: the sweep ended within ${offset.toFixed(0)} ms of ${JSON.stringify(pick)}`,
        );
        break;
      }
      for (const e of seen()) printed.add(e);
      landed++;
      kills.push(`${(performance.now() - at).toFixed(0)} ms after ${JSON.stringify(pick)}`);
      assertEquals(await incompleteFiles(root), [], `after kill ${landed}`);
    }
    assertGreater(landed, 0, `no kill landed: ${kills.join(", ")}`);
    const last = await runSweep(results, ["--jobs", "1"]);
    assertEquals(last.code, 0, last.stderr);
    assertEquals(await incompleteFiles(root), []);
    assertEquals(await differingResults(ref.root, root), [], `kills: ${kills.join(", ")}`);
    console.log(`killed ${landed} times:\n  ${kills.join("\n  ")}`);
    await Deno.remove(results, { recursive: true });
  },
});

Deno.test({
  name: "two sweeps started at once on one results directory both finish with the same summary",
  sanitizeResources: false,
  fn: async () => {
    const ref = await referenceSweep();
    const results = await Deno.makeTempDir({ prefix: "resume-concurrent-" });
    const root = join(results, "canonical_tiny");
    const [a, b] = await Promise.all([
      runSweep(results, ["--jobs", "1"]),
      runSweep(results, ["--jobs", "2"]),
    ]);
    assertEquals([a.code, b.code], [0, 0], `${a.stderr}\n----\n${b.stderr}`);
    // each stage ran once: whoever came second waited for the lock and reused the result
    assertStringIncludes(a.stderr + b.stderr, "waiting for stage ");
    // both printed the same table, and what they left is whole and equals a lone sweep's
    const table = (s: string) => {
      const start = s.indexOf("| method"), end = s.indexOf("summary: ");
      assert(start >= 0 && end > start, `no summary table in:\n${s}`);
      return s.slice(start, end);
    };
    assertEquals(table(a.stdout), table(b.stdout));
    assertEquals(await incompleteFiles(root), []);
    assertEquals(await differingResults(ref.root, root), []);
    await Deno.remove(results, { recursive: true });
    await Deno.remove(join(ref.root, ".."), { recursive: true });
  },
});
