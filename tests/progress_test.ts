/**
 * What the terminal is told as a sweep goes: the sweep's run tally (done of total, by
 * outcome, ETA from the runs trained so far) on a clock the test drives, and durations.
 */
import { formatSeconds, RunTally } from "../lib/util/progress.ts";
import { assertEquals } from "./assert.ts";

Deno.test("RunTally counts runs by outcome and estimates the time left from trained runs", () => {
  let now = 100;
  const t = new RunTally(6, 2, () => now);
  assertEquals(t.line(), "sweep 0/6 runs · 0 trained, 0 cached, 0 failed · 0.0s elapsed, ETA ?");
  now = 101;
  t.add("cached", 0); // cached runs take no time and tell nothing about the ones left
  assertEquals(t.eta(), undefined);
  now = 130;
  t.add("trained", 20);
  t.add("trained", 40);
  // mean 30 s a trained run, 3 runs left, 2 at a time: 30 · 3 / 2
  assertEquals(t.eta(), 45);
  t.add("failed", 5);
  assertEquals(t.counts, { trained: 2, cached: 1, failed: 1 });
  assertEquals(
    t.line(),
    "sweep 4/6 runs · 2 trained, 1 cached, 1 failed · 30.0s elapsed, ETA 30.0s",
  ); // 2 left, 2 at a time: 30 · 2 / 2
  t.add("trained", 30);
  assertEquals(t.eta(), 30); // one left runs alone: 30 · 1 / 1
  t.add("cached", 0);
  assertEquals(t.line(), "sweep 6/6 runs · 3 trained, 2 cached, 1 failed · 30.0s elapsed");
  assertEquals(t.eta(), 0);
});

Deno.test("formatSeconds() writes seconds, minutes and hours", () => {
  assertEquals(
    [3.21, 59.94, 75, 3599, 7300, Infinity].map(formatSeconds),
    ["3.2s", "59.9s", "1m15s", "59m59s", "2h01m", "?"],
  );
});
