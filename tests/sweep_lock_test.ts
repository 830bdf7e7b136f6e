import { assert, assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";
import { acquireLock, hostName, LockHeldError, readLock, withLock } from "../lib/sweep/lock.ts";

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

Deno.test("a stale lock (its holder is dead) is taken over; one from another host is not", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/x.lock`;
  // a process that has exited
  const child = new Deno.Command("true").spawn();
  await child.status;
  const dead = { pid: child.pid, hostname: hostName(), time: "t", purpose: "old", token: "d" };
  Deno.writeTextFileSync(path, JSON.stringify(dead));
  const lock = await acquireLock(path, { wait: false });
  assertEquals((await readLock(path))?.pid, Deno.pid);
  await lock.release();
  // a live holder on another host is never judged stale
  Deno.writeTextFileSync(path, JSON.stringify({ ...dead, hostname: "elsewhere" }));
  await assertRejects(() => acquireLock(path, { wait: false }), LockHeldError, "on elsewhere");
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["x.lock"]);
  await Deno.remove(dir, { recursive: true });
});

/** Deno reads /proc only with --allow-all; without it pid reuse cannot be detected. */
const procReadable = (() => {
  try {
    Deno.readTextFileSync("/proc/self/stat");
    return true;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "a lock whose pid now belongs to another process (pid reuse) is taken over",
  ignore: !procReadable,
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
      pidStart: "1",
    };
    Deno.writeTextFileSync(path, JSON.stringify(reused));
    await withLock(path, async () => assertEquals((await readLock(path))?.purpose, ""), {
      wait: false,
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
