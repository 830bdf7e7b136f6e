/** Sweeping what stopped processes left behind (lib/sweep/temp_files.ts). */
import { join } from "node:path";
import { sweepTempFiles } from "../lib/sweep/temp_files.ts";
import { assertEquals } from "./assert.ts";

/** A pid that belonged to a process that has exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

const ago = (ms: number) => new Date(Date.now() - ms);
async function make(path: string, opts: { dir?: boolean; age?: number; bytes?: number } = {}) {
  if (opts.dir) {
    await Deno.mkdir(path, { recursive: true });
    await Deno.writeFile(join(path, "f"), new Uint8Array(opts.bytes ?? 0));
  } else await Deno.writeFile(path, new Uint8Array(opts.bytes ?? 0));
  if (opts.age) await Deno.utime(path, ago(opts.age), ago(opts.age));
}

Deno.test("sweepTempFiles() removes dead processes' leftovers, and nothing else", async () => {
  const root = await Deno.makeTempDir({ prefix: "temps-root-" });
  const tmp = await Deno.makeTempDir({ prefix: "temps-tmp-" });
  const dead = await deadPid();
  const min = 120_000;
  const gone = [
    join(root, `.summary.csv.tmp-${dead}-0`),
    join(root, "plots", `.frontier.html.tmp-${dead}-3`),
    join(root, "plots", `.frontier.tmp-${dead}.png`),
    join(root, ".cache", "sft", `.abc.lock.stale-${dead}-1`),
    join(root, ".cache", "sft", `.abc.discarded-${dead}`),
    join(root, `.ppo__beta0.1__seed1__12345678.publish-${dead}`),
    join(tmp, `rlhf-xdg-${dead}-x1y2`),
    join(tmp, "kit-chromium-old"),
    join(tmp, `kit-chromium-${dead}-s1`),
  ];
  const kept = [
    join(root, "summary.csv"), // a result
    join(root, `.own.tmp-${Deno.pid}-0`), // ours: maybe being written now
    join(root, `.fresh.tmp-${dead}-0`), // touched within the last minute
    join(root, ".live.tmp-1-0"), // pid 1 runs
    join(root, ".cache", "sft", `.abc.partial-${dead}`), // the stage cache's to resume
    join(tmp, `rlhf-xdg-${Deno.pid}-a`),
    join(tmp, "kit-chromium-new"), // a browser may be using it
    join(tmp, `kit-chromium-${Deno.pid}-s2`), // ours
    join(tmp, "1e3172699745ed8"), // not named by the kit
  ];
  await Deno.mkdir(join(root, "plots"), { recursive: true });
  await Deno.mkdir(join(root, ".cache", "sft"), { recursive: true });
  for (const p of gone) {
    const dir = /discarded|publish|xdg|chromium/.test(p);
    await make(p, { dir, age: p.endsWith("-old") ? 7_200_000 : min, bytes: 1_000_000 });
  }
  for (const p of kept) {
    const dir = /partial|xdg|chromium|1e31/.test(p);
    await make(p, { dir, age: p.includes("fresh") || p.endsWith("-new") ? 0 : min * 100 });
  }
  const logs: string[] = [];
  const res = await sweepTempFiles(root, { tmpDir: tmp, log: (m) => logs.push(m) });
  assertEquals(res.removed.sort(), [...gone].sort());
  assertEquals(res.bytes, 9_000_000);
  assertEquals(logs, [
    "removed 9 temp file(s) and director(ies) left by stopped processes (9.0 MB)",
  ]);
  for (const p of kept) assertEquals(await Deno.stat(p).then(() => true, () => false), true, p);
  // nothing left to sweep: silent
  assertEquals((await sweepTempFiles(root, { tmpDir: tmp, log: (m) => logs.push(m) })).removed, []);
  assertEquals(logs.length, 1);
  await Deno.remove(root, { recursive: true });
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("sweepTempFiles() of a directory that does not exist does nothing", async () => {
  const res = await sweepTempFiles("/nonexistent/results", { tmpDir: null, log: () => {} });
  assertEquals(res, { removed: [], bytes: 0 });
});
