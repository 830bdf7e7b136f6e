import { assert, assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";
import { writeBytesAtomic, writeTextAtomic } from "../lib/util/atomic_write.ts";
import { ResourceError } from "../lib/util/errors.ts";
import { withFsFault } from "./_fs_fault.ts";

function listDir(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("writeTextAtomic() creates parent dirs and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/a/b/c.json`;
  await writeTextAtomic(path, '{"x":1}');
  assertEquals(Deno.readTextFileSync(path), '{"x":1}');
  await writeTextAtomic(path, "second");
  assertEquals(Deno.readTextFileSync(path), "second");
  assertEquals(listDir(`${dir}/a/b`), ["c.json"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeBytesAtomic() writes bytes exactly", async () => {
  const dir = await Deno.makeTempDir();
  const bytes = new Uint8Array(100_000).map((_, i) => i % 251);
  await writeBytesAtomic(`${dir}/w.bin`, bytes);
  assertEquals(Deno.readFileSync(`${dir}/w.bin`), bytes);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a concurrent reader sees the old or the new content, never a mix", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/t.txt`;
  const a = "a".repeat(1 << 20), b = "b".repeat(1 << 20);
  await writeTextAtomic(path, a);
  let writing = true;
  const writer = (async () => {
    for (let i = 0; i < 20; i++) await writeTextAtomic(path, i % 2 ? a : b);
    writing = false;
  })();
  let reads = 0;
  while (writing) {
    const got = await Deno.readTextFile(path);
    assert(got === a || got === b, `torn read of length ${got.length}`);
    reads++;
  }
  await writer;
  assert(reads > 0);
  assertEquals(listDir(dir), ["t.txt"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a failed write removes its temp file and keeps the target", async () => {
  const dir = await Deno.makeTempDir();
  // the target is a non-empty directory, so the final rename fails
  await Deno.mkdir(`${dir}/target/inner`, { recursive: true });
  await assertRejects(() => writeTextAtomic(`${dir}/target`, "x"));
  assertEquals(listDir(dir), ["target"]);
  assertEquals(listDir(`${dir}/target`), ["inner"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a full disk while writing: one ResourceError naming the file; the old file and no temp file remain", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/summary.csv`;
  await writeTextAtomic(path, "old\n");
  for (const code of ["ENOSPC", "EROFS", "EACCES"] as const) {
    const e = await withFsFault(
      { code, when: (p) => p.startsWith(dir), ops: ["open"] },
      () => assertRejects(() => writeTextAtomic(path, "new\n"), ResourceError),
    );
    const r = e as ResourceError;
    assertEquals([r.path, r.code], [path, code]);
    assertStringIncludes(e.message, `cannot write ${path}: `);
    assertEquals(Deno.readTextFileSync(path), "old\n");
    assertEquals(listDir(dir), ["summary.csv"]);
  }
  // a directory that cannot be made is named itself
  const e = await withFsFault(
    { code: "EROFS", when: (p) => p.startsWith(`${dir}/sub`), ops: ["mkdir"] },
    () => assertRejects(() => writeTextAtomic(`${dir}/sub/x.json`, "{}"), ResourceError),
  );
  assertEquals(e.message, `cannot write ${dir}/sub: the file system is read-only (EROFS)`);
  await Deno.remove(dir, { recursive: true });
});
