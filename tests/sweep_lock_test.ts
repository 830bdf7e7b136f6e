import { assert, assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";
import {
  acquireLock,
  LockHeldError,
  readLock,
  readLockState,
  withLock,
} from "../lib/sweep/lock.ts";
import { hostName } from "../lib/sweep/lock_holder.ts";

Deno.test("a lock blocks a second holder and names the first", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/x.lock`;
  const first = await acquireLock(path, { purpose: "stage a/1" });
  assertEquals((await readLock(path))?.pid, Deno.pid);
  const e = await assertRejects(() => acquireLock(path, { wait: false }), LockHeldError);
  assertStringIncludes(e.message, `lock ${path} is held by pid ${Deno.pid} on ${hostName()}`);
  assertStringIncludes(e.message, "(stage a/1)");
  const t0 = Date.now();
  await assertRejects(() => acquireLock(path, { timeoutMs: 300, pollMs: 50 }), LockHeldError);
  assert(Date.now() - t0 >= 290);
  await first.release();
  assertEquals(await readLock(path), undefined);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a waiting acquirer gets the lock when it is released", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/x.lock`;
  const first = await acquireLock(path);
  let waitedFor: number | undefined;
  const second = acquireLock(path, { pollMs: 20, onWait: (h) => (waitedFor = h?.pid) });
  setTimeout(() => first.release(), 100);
  const lock = await second;
  assertEquals(waitedFor, Deno.pid);
  assertEquals((await readLock(path))?.token, lock.info.token);
  await first.release(); // releasing twice must not remove the new holder's lock
  assertEquals((await readLock(path))?.token, lock.info.token);
  await lock.release();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a stale lock (its holder is dead) is taken over with a notice naming it", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/x.lock`;
  // a process that has exited
  const child = new Deno.Command("true").spawn();
  await child.status;
  const dead = { pid: child.pid, hostname: hostName(), time: "t", purpose: "old", token: "d" };
  Deno.writeTextFileSync(path, JSON.stringify(dead));
  const logs: string[] = [];
  const lock = await acquireLock(path, { wait: false, log: (m) => logs.push(m) });
  assertEquals((await readLock(path))?.pid, Deno.pid);
  assertEquals(logs, [
    `taking over lock ${path} of pid ${child.pid} on ${hostName()} since t (old): ` +
    "that process is gone",
  ]);
  await lock.release();
  assertEquals([...Deno.readDirSync(dir)], []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a lock from another host is respected while its heartbeat is fresh, taken over once it is old", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/x.lock`;
  // a Slurm node that was killed: its pid means nothing here
  const node = { pid: 4242, hostname: "node17", time: "t", purpose: "stage sft/1", token: "n" };
  Deno.writeTextFileSync(path, JSON.stringify(node));
  const logs: string[] = [];
  const opts = { wait: false, staleMs: 60_000, log: (m: string) => logs.push(m) };
  await assertRejects(() => acquireLock(path, opts), LockHeldError, "pid 4242 on node17");
  assertEquals(logs, []);
  const old = new Date(Date.now() - 61_000);
  Deno.utimeSync(path, old, old);
  const lock = await acquireLock(path, opts);
  assertEquals(logs, [
    `taking over lock ${path} of pid 4242 on node17 since t (stage sft/1): ` +
    "its last heartbeat was 61 s ago (timeout 60 s)",
  ]);
  assertEquals((await readLock(path))?.pid, Deno.pid);
  await lock.release();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a held lock's heartbeat advances; a live local holder is never taken over", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/x.lock`;
  const lock = await acquireLock(path, { heartbeatMs: 20 });
  assertEquals(lock.info.heartbeatMs, 20);
  const old = new Date(Date.now() - 3_600_000);
  Deno.utimeSync(path, old, old);
  // this process is alive, so an hour-old heartbeat does not make its lock stale
  await assertRejects(
    () => acquireLock(path, { wait: false, staleMs: 1_000 }),
    LockHeldError,
    `held by pid ${Deno.pid}`,
  );
  const t0 = Date.now();
  while ((await readLockState(path)).heartbeat!.getTime() < t0 - 1_000) {
    assert(Date.now() - t0 < 10_000, "the heartbeat never touched the lock");
    await new Promise((r) => setTimeout(r, 10));
  }
  await lock.release();
  assertEquals(await readLockState(path), {});
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a holder that lost its lock to a takeover stops its heartbeat and never removes the new lock", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/x.lock`;
  const logs: string[] = [];
  const lock = await acquireLock(path, { heartbeatMs: 10, log: (m) => logs.push(m) });
  // someone judged it stale and took it over
  const other = { pid: 1, hostname: "node2", time: "t", purpose: "", token: "other" };
  Deno.writeTextFileSync(path, JSON.stringify(other));
  const t0 = Date.now();
  while (!logs.length) {
    assert(Date.now() - t0 < 10_000, "the holder did not notice");
    await new Promise((r) => setTimeout(r, 10));
  }
  assertEquals(logs, [`lost lock ${path}: another process took it over (this one was stalled)`]);
  await lock.release();
  assertEquals((await readLock(path))?.token, "other");
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name: "a lock whose pid now belongs to another process (pid reuse) is taken over",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/x.lock`;
    // our own pid but a different process start time: the pid was reused
    const reused = {
      pid: Deno.pid,
      hostname: hostName(),
      time: "t",
      purpose: "old",
      token: "r",
      // what /proc or ps recorded for another process: not this one's start time
      pidStart: (() => {
        try {
          Deno.readTextFileSync("/proc/self/stat");
          return "1";
        } catch {
          return "ps:Mon Jan  1 00:00:00 2001";
        }
      })(),
    };
    Deno.writeTextFileSync(path, JSON.stringify(reused));
    await withLock(path, async () => assertEquals((await readLock(path))?.purpose, ""), {
      wait: false,
      log: () => {},
    });
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test("an empty lock file counts as held until it is old", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/x.lock`;
  Deno.writeTextFileSync(path, "");
  await assertRejects(
    () => acquireLock(path, { wait: false }),
    LockHeldError,
    "empty or unreadable",
  );
  const old = new Date(Date.now() - 60_000);
  Deno.utimeSync(path, old, old);
  const lock = await acquireLock(path, { wait: false });
  await lock.release();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("with --allow-run=ps only (no /proc, no kill), a dead local holder is still seen as gone", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/x.lock`;
  const child = new Deno.Command("true").spawn();
  await child.status;
  Deno.writeTextFileSync(
    path,
    JSON.stringify({ pid: child.pid, hostname: hostName(), time: "t", purpose: "", token: "d" }),
  );
  const script = `${dir}/take.ts`;
  const mod = new URL("../lib/sweep/lock.ts", import.meta.url).href;
  Deno.writeTextFileSync(
    script,
    `import { acquireLock } from ${JSON.stringify(mod)};
     const l = await acquireLock(${JSON.stringify(path)}, { wait: false });
     await l.release();`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--allow-read`,
      `--allow-write=${dir}`,
      "--allow-run=ps",
      "--allow-sys=hostname",
      script,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  assertStringIncludes(
    stderr,
    `of pid ${child.pid} on ${hostName()} since t: that process is gone`,
  );
  await Deno.remove(dir, { recursive: true });
});
